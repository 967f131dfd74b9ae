# O que todas as páginas compartilham: a navegação, o layout, as páginas de erro,
# o link de idioma e os títulos dos documentos de problema (por status HTTP).

site-name = KCL
nav-catalog = Catálogo
nav-rentals = Aluguéis
nav-jobs = Trabalhos de OCR
nav-sales = Vendas
nav-audit = Auditoria
nav-api = API
nav-log-in = Entrar
nav-log-out = Sair
nav-no-role = sem perfil
lang-switch-en = English
lang-switch-pt-BR = Português
lang-switch-label = Idioma
lang-unknown = Não há o idioma “{ $tag }”: o KCL fala en e pt-BR.
live-note = Esta página se atualiza sozinha enquanto há trabalho em andamento.
live-reload = Recarregar
error-title = Algo deu errado
back = Voltar
back-to-catalog = Catálogo
previous-page = ← Página anterior
next-page = Próxima página →
cross-site-form = este formulário foi enviado de outro site

status-400 = Requisição inválida
status-401 = Não autenticado
status-403 = Proibido
status-404 = Não encontrado
status-405 = Método não permitido
status-406 = Não aceitável
status-408 = Tempo de requisição esgotado
status-409 = Conflito
status-410 = Não existe mais
status-411 = Tamanho exigido
status-412 = Pré-condição falhou
status-413 = Conteúdo grande demais
status-415 = Tipo de mídia não suportado
status-422 = Entidade não processável
status-428 = Pré-condição exigida
status-429 = Requisições demais
status-500 = Erro interno do servidor
status-502 = Gateway inválido
status-503 = Serviço indisponível
status-504 = Tempo de gateway esgotado
