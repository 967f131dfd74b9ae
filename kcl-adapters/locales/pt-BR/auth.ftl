# auth: a página de login, os problemas do login para clientes da API e a página
# de documentação da API.

login-title = Entrar
login-name = Nome
login-password = Senha
login-submit = Entrar
# Seguido do nome do usuário.
login-logged-in-as = Você está conectado como
login-go-on = Continuar
login-log-out = Sair
login-wrong = Nome ou senha incorretos.
login-throttled = Tentativas malsucedidas demais; aguarde alguns minutos e tente novamente.
login-busy = O servidor está ocupado; tente novamente em instantes.
# Os detalhes dos problemas com que POST /api/auth/token responde.
login-problem-wrong = nome ou senha incorretos
login-problem-throttled = tentativas malsucedidas demais; tente novamente mais tarde
login-problem-busy = logins simultâneos demais; tente novamente em um segundo

# A página de documentação da API (/api/docs); as descrições vêm do documento
# OpenAPI, em inglês.
docs-title = API do { $title }
docs-version = versão { $version }
# Seguido de um link para o documento OpenAPI.
docs-document = o documento:
docs-operations = Operações
docs-schemas = Esquemas
docs-security = Segurança:
docs-security-none = sem autenticação
docs-security-optional = token bearer opcional (leituras podem ser públicas)
docs-security-required = token bearer obrigatório
docs-parameters = Parâmetros
docs-param-name = nome
docs-param-in = local
docs-param-type = tipo
docs-required = obrigatório.
docs-request-body = Corpo da requisição
docs-body-required = obrigatório
docs-responses = Respostas
docs-headers = Cabeçalhos:
# Seguido de um tipo.
docs-type = Tipo:
docs-type-any = qualquer
# Seguido do tipo dos itens.
docs-type-array-of = array de
# Seguido de uma chave de abertura e dos nomes das propriedades.
docs-type-object = objeto
# Seguido dos valores.
docs-type-one-of = um de:
# Seguido do nome de um esquema.
docs-with-every-field-of = Com todos os campos de
