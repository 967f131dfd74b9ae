# jobs: as páginas dos trabalhos de OCR (a lista, o formulário de envio, os
# textos de um trabalho e o seu registro de processamento) e a página de auditoria.

jobs-title = Trabalhos de OCR
jobs-engine = Mecanismo: { $engine }
jobs-no-engine = O OCR não está habilitado nesta compilação (feature `tesseract` do cargo); não é possível criar trabalhos.
jobs-col-name = Nome
jobs-col-status = Situação
jobs-col-images = Imagens
jobs-col-done = Lidas
jobs-col-errors = Erros
jobs-col-created = Criado em
jobs-none = Nenhum trabalho ainda.
jobs-total = { $n ->
    [0] { $count } trabalhos
    [one] { $count } trabalho
   *[other] { $count } trabalhos
}
jobs-back = ← Trabalhos de OCR
jobs-new = Novo trabalho
jobs-new-name = Nome
jobs-new-images = Imagens
jobs-new-submit = Ler o texto

# A situação de um item (ou de um trabalho), como selo.
jobs-status-pending = PENDENTE
jobs-status-processing = PROCESSANDO
jobs-status-done = CONCLUÍDO
jobs-status-error = ERRO
jobs-status-expired = EXPIRADO

# A página de um trabalho.
jobs-status = Situação
jobs-images = { $n ->
    [0] { $count } imagens
    [one] { $count } imagem
   *[other] { $count } imagens
}
# Seguido da data e da hora.
jobs-created = criado em
jobs-image-heading = Imagem { $n }
jobs-confidence = confiança { $value }
jobs-duplicate = mesma imagem que uma anterior: lida uma só vez
jobs-log = Registro de processamento
# No registro de processamento: a imagem de que trata um evento.
jobs-an-image = uma imagem
jobs-image-n = imagem { $n }
jobs-log-processing = { $image }: em processamento
jobs-log-done = { $image }: lida
jobs-log-confidence = confiança { $value }
jobs-log-seconds = { $seconds } s
jobs-log-error = { $image }: erro
jobs-log-expired = { $image }: expirada
# Outro evento do trabalho; $action é um dos rótulos audit-action-*.
jobs-log-job = trabalho { $action }
jobs-delete = Excluir
jobs-delete-submit = Excluir este trabalho e suas imagens

# A página de auditoria.
audit-title = Registro de auditoria
audit-filter-action = Ação
audit-filter-entity = Entidade
audit-filter-any = qualquer
audit-filter-from = De
audit-filter-to = Até
audit-filter-submit = Mostrar
audit-col-when = Quando
audit-col-action = Ação
audit-col-entity = Entidade
audit-col-id = Id
audit-col-data = Dados
audit-none = Nenhum evento encontrado.
audit-newest = ← Mais recentes
audit-older = Eventos anteriores →

# O que aconteceu (no masculino: todas as entidades são masculinas).
audit-action-created = criado
audit-action-updated = alterado
audit-action-deleted = excluído
audit-action-rented = alugado
audit-action-returned = devolvido
audit-action-cover-uploaded = capa enviada
audit-action-thumbnail-created = miniatura criada
audit-action-ingested = carregado
audit-action-item-processing = item em processamento
audit-action-item-done = item lido
audit-action-item-error = item com erro
audit-action-item-expired = item expirado

# Os tipos de entidade.
audit-entity-book = livro
audit-entity-job = trabalho de OCR
audit-entity-sales-file = arquivo de vendas
audit-entity-stock = estoque
