# A página de vendas (envio, uma venda avulsa, o resumo, relatórios, estoque), o
# relatório de um arquivo carregado e os gráficos.
#
# Os argumentos que um comentário chama de "elemento" são substituídos por um
# pedaço da página (código, negrito, um horário): mantenha cada um uma vez, na
# ordem dada.

sales-title = Vendas
sales-file-title = Arquivo de vendas
sales-upload-again = Tentar de novo
sales-back = ← Vendas

## Enviar um arquivo

sales-upload-heading = Enviar um arquivo de vendas
sales-upload-file = Arquivo CSV
sales-upload-policy = Política
sales-policy-lenient = tolerante: carrega as linhas válidas
sales-policy-strict = estrita: qualquer linha inválida recusa o arquivo
sales-format-summary = O formato do seu arquivo (colunas, datas, imposto)
sales-format-columns = Colunas
# Os nomes de coluna antes dos dois-pontos são os do KCL e ficam como estão; os
# cabeçalhos depois deles são exemplos dos de um arquivo.
sales-format-columns-placeholder = store_id:Filial,sku:Linha de produto,sale_date:Data
# $required e $optional: elementos, listas de nomes de coluna.
sales-format-columns-help = Qual dos seus cabeçalhos contém cada coluna de que o KCL precisa: { $required } (e, opcionalmente, { $optional }). As outras colunas são ignoradas.
sales-format-date-order = Ordem das datas
sales-date-order-default = dia/mês/ano (padrão)
sales-date-order-dmy = dia/mês/ano
sales-date-order-mdy = mês/dia/ano
sales-date-order-ymd = ano/mês/dia
sales-format-tax-rate = Imposto incluído no total (%)
sales-upload-submit = Carregar

## Registrar uma venda

sales-record-heading = Registrar uma venda
sales-field-store = Loja
sales-field-day = Dia
sales-field-sku = SKU
sales-field-quantity = Quantidade
sales-field-unit-price = Preço unitário
sales-record-submit = Registrar

## O resumo

sales-summary-heading = Resumo
sales-summary-from = De
sales-summary-to = Até
sales-summary-group-by = Agrupar por
# Como o resumo é agrupado: as opções de "Agrupar por", e $group na legenda.
sales-group-day = dia
sales-group-store = loja
sales-group-sku = SKU
sales-summary-submit = Mostrar
sales-summary-caption = Por { $group }, de { $from } a { $to }
sales-col-group = Grupo
sales-col-lines = Linhas
sales-col-quantity = Quantidade
sales-col-revenue = Receita
sales-col-tax = Imposto
sales-col-before-tax = Sem imposto
sales-summary-empty = Nenhuma venda neste período.
sales-summary-total = Total

## Os gráficos acima do resumo

sales-chart-by-day-title = Receita por dia, de { $from } a { $to }
sales-chart-by-day-caption = Receita por dia (a tabela abaixo traz os valores).
sales-chart-too-long = { $n ->
    [0] Escolha um período de no máximo { $count } dias para vê-lo dia a dia no gráfico.
    [one] Escolha um período de no máximo { $count } dia para vê-lo dia a dia no gráfico.
   *[other] Escolha um período de no máximo { $count } dias para vê-lo dia a dia no gráfico.
}
sales-chart-by-store-title = Receita por loja, de { $from } a { $to }
sales-chart-by-store-caption = Receita por loja.

## Relatórios

sales-report-heading = Relatório
sales-report-format = Formato
sales-report-locale = Números e datas
sales-report-locale-default = conforme a configuração
sales-report-submit = Baixar o relatório de { $from } a { $to }
sales-schedule-heading = Relatórios agendados
# $setting: um elemento, o exemplo da configuração.
sales-schedule-none = Nenhum. Com { $setting }, todos os dias às 06:00 o relatório do dia anterior de cada loja que vendeu é gerado automaticamente.
sales-schedule-every-day = Todos os dias às { $time } ({ $tz }), o relatório do dia anterior de cada loja que vendeu.
# $next: um elemento, o dia e a hora da próxima execução.
sales-schedule-next = Próxima: { $next }.
# $day: um elemento, o dia do relatório; $count: o número de relatórios.
sales-schedule-last = Última: os relatórios de { $day } ({ $count }).
sales-schedule-last-none = Última: os relatórios de { $day } ({ $count }): nenhuma loja vendeu nesse dia.
sales-schedule-no-run = Nenhuma execução ainda.

## Estoque

sales-stock-heading = Estoque
sales-stock-submit = Consultar
# $sku e $quantity: elementos, nesta ordem.
sales-stock-level = Estoque de { $sku }: { $quantity } (atualizado em { $updated })

## O relatório de um arquivo carregado

sales-loaded = Carregado.
sales-loaded-rows = { $n ->
    [0] { $loaded } de { $total } linhas.
    [one] { $loaded } de { $total } linha.
   *[other] { $loaded } de { $total } linhas.
}
sales-duplicate = Já carregado:
sales-duplicate-detail = o mesmo conteúdo já foi carregado antes; nada mudou.
sales-refused = Recusado:
sales-refused-default = o arquivo foi rejeitado
# $name: um elemento, o nome do arquivo.
sales-replaces = Este arquivo substitui a versão anterior de { $name }.
sales-file-name = Arquivo
sales-file-rows-read = Linhas lidas
sales-file-rows-loaded = Carregadas
sales-file-rows-rejected = Rejeitadas
sales-rejected-rows = Linhas rejeitadas
sales-file-parquet = Cópias em Parquet
sales-file-date-order = Datas lidas como
sales-file-profile = Perfil de formato
sales-file-ignored = Colunas ignoradas
sales-error-line = Linha
sales-error-column = Coluna
sales-error-problem = Problema
sales-errors-more = … e mais { $count }.

## Gráficos (SVG): suas descrições, lidas pelos leitores de tela

chart-day-desc = { $n ->
    [0] { $count } dias, de { $from } a { $to }: { $total } no total; o melhor dia, { $best }, vendeu { $best_amount }.
    [one] { $count } dia, de { $from } a { $to }: { $total } no total; o melhor dia, { $best }, vendeu { $best_amount }.
   *[other] { $count } dias, de { $from } a { $to }: { $total } no total; o melhor dia, { $best }, vendeu { $best_amount }.
}
chart-day-empty = Nenhuma receita neste período.
chart-store-empty = Nenhuma venda neste período.
# O fim de uma lista de lojas e suas receitas, depois das lojas mostradas.
chart-store-more = { $n ->
    [0] e mais { $count } lojas
    [one] e mais { $count } loja
   *[other] e mais { $count } lojas
}
