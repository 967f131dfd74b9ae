#!/usr/bin/env python3
"""Renders the OCR benchmark set: images of English text with a known truth.

    python3 scripts/ocr_set.py OUT_DIR [--count 30] [--seed 5] [--dense] [--portuguese]

Writes OUT_DIR/NN.png or NN.jpg and the truth in OUT_DIR/NN.txt (lines joined by
newlines). The same seed and fonts give the same texts, sizes and effects (the noise
comes from Pillow's C generator, which starts from the same state in every process). Needs Pillow and Debian's
fonts-dejavu-core, fonts-liberation and fonts-urw-base35 (scripts/bench-ocr.sh
installs them).

What the images look like (BENCHMARKS.md, "OCR"): 1000x300, 1, 2 or 3 lines (a third
each), 12 fonts, font size 26-44 px except one image in five at 15-20 px (small print); mild
effects of a photo of a document: rotation up to +-2 degrees, Gaussian blur 0.7-1.2
px, Gaussian noise (sigma 14), gray paper and ink, a lighting gradient; a quarter saved
as JPEG quality 70, the rest PNG.

`--dense` (default count 40): 1200x400, 1 to 8 lines (count = 1 + index % 8), font size
26-44 px capped so the lines fit, small print 15-20 px as above; one image in three
tilted by 2-4 degrees either way, the rest by up to +-1 degree; otherwise the same
effects. Without `--dense` the set is the one of the first runs, image for image.

`--portuguese`: the same images of Brazilian Portuguese sentences, with their accents
(ç, ã, õ, á, é, ê, í, ó, ú), for what `KCL_OCR_LANG=eng+por` costs and buys.
"""

import argparse
import os
import random
import sys

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

WIDTH, HEIGHT = 1000, 300

# (file name, where Debian puts it)
FONTS = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf",
    "/usr/share/fonts/opentype/urw-base35/NimbusSans-Regular.otf",
    "/usr/share/fonts/opentype/urw-base35/NimbusRoman-Regular.otf",
    "/usr/share/fonts/opentype/urw-base35/NimbusMonoPS-Regular.otf",
    "/usr/share/fonts/opentype/urw-base35/C059-Roman.otf",
    "/usr/share/fonts/opentype/urw-base35/P052-Roman.otf",
    "/usr/share/fonts/opentype/urw-base35/URWBookman-Light.otf",
]

# Plain English sentences (written for this set); lines are cut from them by width.
SENTENCES = """
The library opens at nine and closes at six on weekdays.
Please return borrowed books before the end of the month.
Each rental is recorded with the date it was taken and the date it is due.
A late return costs nothing, but the next rental waits until it is back.
The store sold forty two notebooks and nineteen pens on Tuesday.
Stock counts are checked every morning against the delivery notes.
Receipts older than two years are archived in the basement.
Thumbnails are made from the cover images when a book is added.
The quarterly report lists sales by store, by product and by day.
Orders placed after four in the afternoon ship the next morning.
Our warehouse in the north keeps spare parts for older models.
Invoice 2317 was paid in full on the third of March.
The meeting moved to room 12 on the second floor.
Bring a photo identity card to collect a reserved copy.
New arrivals this week include three novels and a cookbook.
The printer on the first floor is out of toner again.
Temperature in the storage room must stay below 25 degrees.
Customers may pay by card, by transfer or in cash.
The delivery van leaves the depot at half past seven.
Questions about your account can be sent to the front desk.
A full refund is possible within thirty days of purchase.
The reading room is quiet; phones should be switched off.
Shelf labels were reprinted after the catalog moved.
Every item carries a barcode and a short description.
The annual inventory takes place in the first week of January.
Lost cards can be replaced for a small fee at the counter.
Opening hours change during the summer holidays.
Children under twelve must be accompanied by an adult.
Donations of books in good condition are always welcome.
The total for the month was 18,450 units across all stores.
""".strip().splitlines()


# Brazilian Portuguese sentences (written for this set), for `--portuguese`.
SENTENCES_PT = """
A biblioteca abre às nove e fecha às seis nos dias úteis.
Devolva os livros emprestados antes do fim do mês, por favor.
Cada aluguel é registrado com a data da retirada e a data de devolução.
O atraso não custa nada, mas o próximo aluguel espera a devolução.
A loja vendeu quarenta e dois cadernos e dezenove canetas na terça.
O estoque é conferido toda manhã com as notas de entrega.
Recibos com mais de dois anos ficam guardados no porão.
As miniaturas são geradas das capas quando um livro é cadastrado.
O relatório trimestral lista as vendas por loja, produto e dia.
Pedidos feitos depois das quatro da tarde saem na manhã seguinte.
Nosso depósito no norte guarda peças de reposição dos modelos antigos.
A nota fiscal 2317 foi paga integralmente em três de março.
A reunião mudou para a sala 12 no segundo andar.
Traga um documento com foto para retirar um exemplar reservado.
As novidades da semana incluem três romances e um livro de receitas.
A impressora do primeiro andar está sem tinta outra vez.
A temperatura do almoxarifado deve ficar abaixo de 25 graus.
Os clientes podem pagar com cartão, transferência ou em dinheiro.
A van de entregas sai do depósito às sete e meia.
Dúvidas sobre a sua conta podem ser enviadas ao balcão de atendimento.
O reembolso integral é possível em até trinta dias após a compra.
A sala de leitura é silenciosa; os celulares devem ficar desligados.
As etiquetas das prateleiras foram reimpressas depois da mudança do acervo.
Cada item tem um código de barras e uma descrição curta.
O inventário anual acontece na primeira semana de janeiro.
Cartões perdidos podem ser substituídos por uma pequena taxa no balcão.
O horário de funcionamento muda durante as férias de verão.
Crianças com menos de doze anos devem estar acompanhadas de um adulto.
Doações de livros em bom estado são sempre bem-vindas.
O total do mês foi de 18.450 unidades em todas as lojas, com promoção de pão e feijão.
""".strip().splitlines()


PORTUGUESE = False


def lines_for(rng, font, count, width=WIDTH):
    """`count` lines of text that fit in the image width with `font`."""
    sentences = SENTENCES_PT if PORTUGUESE else SENTENCES
    words = " ".join(rng.sample(sentences, len(sentences))).split()
    # Eight lines of small print need more than the shuffled sentences once.
    while len(words) < count * 25:
        words += " ".join(rng.sample(sentences, len(sentences))).split()
    lines, line = [], []
    limit = width - 90
    for word in words:
        candidate = " ".join(line + [word])
        if font.getlength(candidate) > limit and line:
            lines.append(" ".join(line))
            if len(lines) == count:
                return lines
            line = [word]
        else:
            line.append(word)
    lines.append(" ".join(line))
    return lines[:count]


def render(rng, index, fonts, small):
    count = 1 + index % 3
    path = fonts[index % len(fonts)]
    size = rng.randint(15, 20) if small else rng.randint(26, 44)
    # Three lines of 44 px text must fit in 300 px with spacing.
    if count == 3:
        size = min(size, 40)
    font = ImageFont.truetype(path, size)
    lines = lines_for(rng, font, count)

    paper = rng.randint(200, 235)
    ink = rng.randint(20, 70)
    image = Image.new("L", (WIDTH, HEIGHT), paper)
    draw = ImageDraw.Draw(image)
    ascent, descent = font.getmetrics()
    step = int((ascent + descent) * rng.uniform(1.25, 1.6))
    block = step * (count - 1) + ascent + descent
    top = max(10, (HEIGHT - block) // 2 + rng.randint(-20, 20))
    left = rng.randint(30, 60)
    for n, text in enumerate(lines):
        draw.text((left, top + n * step), text, font=font, fill=ink)

    angle = rng.uniform(-2.0, 2.0)
    image = image.rotate(angle, resample=Image.BICUBIC, fillcolor=paper)

    # A lighting gradient: up to 30 levels darker towards one side.
    gradient = Image.linear_gradient("L").resize((WIDTH, HEIGHT))
    if rng.random() < 0.5:
        gradient = gradient.transpose(Image.ROTATE_90).resize((WIDTH, HEIGHT))
    shade = gradient.point(lambda v: v * 30 // 255)
    image = ImageChops.subtract(image, shade)

    # Gaussian noise, sigma 14, centred on zero.
    noise = Image.effect_noise((WIDTH, HEIGHT), 14)
    image = ImageChops.add(image, noise, scale=1.0, offset=-128)
    # The camera's blur, over the noise too.
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.7, 1.2)))
    return image, lines


DENSE_WIDTH, DENSE_HEIGHT, DENSE_LINES = 1200, 400, 8


def render_dense(rng, index, fonts, small):
    """One image of the dense set (`--dense`): 1200x400, 1 to 8 lines."""
    width, height = DENSE_WIDTH, DENSE_HEIGHT
    count = 1 + index % DENSE_LINES
    path = fonts[index % len(fonts)]
    size = rng.randint(15, 20) if small else rng.randint(26, 44)
    spacing = rng.uniform(1.2, 1.5)
    # The largest size (down to 15 px) whose lines fit, with a margin.
    while True:
        font = ImageFont.truetype(path, size)
        ascent, descent = font.getmetrics()
        step = int((ascent + descent) * spacing)
        block = step * (count - 1) + ascent + descent
        if block <= height - 40 or size <= 15:
            break
        size -= 1
    lines = lines_for(rng, font, count, width)

    paper = rng.randint(200, 235)
    ink = rng.randint(20, 70)
    image = Image.new("L", (width, height), paper)
    draw = ImageDraw.Draw(image)
    top = max(10, (height - block) // 2 + rng.randint(-10, 10))
    left = rng.randint(30, 60)
    for n, text in enumerate(lines):
        draw.text((left, top + n * step), text, font=font, fill=ink)

    if rng.random() < 1 / 3:
        angle = rng.uniform(2.0, 4.0) * rng.choice([-1, 1])
    else:
        angle = rng.uniform(-1.0, 1.0)
    image = image.rotate(angle, resample=Image.BICUBIC, fillcolor=paper)

    gradient = Image.linear_gradient("L").resize((width, height))
    if rng.random() < 0.5:
        gradient = gradient.transpose(Image.ROTATE_90).resize((width, height))
    shade = gradient.point(lambda v: v * 30 // 255)
    image = ImageChops.subtract(image, shade)
    noise = Image.effect_noise((width, height), 14)
    image = ImageChops.add(image, noise, scale=1.0, offset=-128)
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.7, 1.2)))
    return image, lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--count", type=int, help="images (default 30, 40 with --dense)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--dense", action="store_true",
                        help="1200x400, 1 to 8 lines, some tilted by 2-4 degrees")
    parser.add_argument("--portuguese", action="store_true",
                        help="Brazilian Portuguese sentences instead of English ones")
    args = parser.parse_args()
    global PORTUGUESE
    PORTUGUESE = args.portuguese
    if args.count is None:
        args.count = 40 if args.dense else 30

    fonts = [f for f in FONTS if os.path.exists(f)]
    missing = [f for f in FONTS if not os.path.exists(f)]
    if missing:
        print(
            "missing fonts (apt-get install fonts-dejavu-core fonts-liberation "
            "fonts-urw-base35): " + ", ".join(missing),
            file=sys.stderr,
        )
        return 1
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    small = set(rng.sample(range(args.count), max(1, args.count // 5)))
    jpeg = set(rng.sample(range(args.count), args.count // 4))
    for index in range(args.count):
        draw = render_dense if args.dense else render
        image, lines = draw(rng, index, fonts, index in small)
        name = f"{index:02d}"
        if index in jpeg:
            image.save(os.path.join(args.out, name + ".jpg"), quality=70)
        else:
            image.save(os.path.join(args.out, name + ".png"))
        with open(os.path.join(args.out, name + ".txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
    print(f"{args.count} images in {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
