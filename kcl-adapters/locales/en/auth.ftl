# auth: the login page, the login's problems for API clients, and the API's
# documentation page.

login-title = Log in
login-name = Name
login-password = Password
login-submit = Log in
# Followed by the user's name.
login-logged-in-as = You are logged in as
login-go-on = Go on
login-log-out = Log out
login-wrong = Wrong name or password.
login-throttled = Too many failed attempts; wait a few minutes and try again.
login-busy = The server is busy; try again in a moment.
# The details of the problems POST /api/auth/token answers with.
login-problem-wrong = wrong name or password
login-problem-throttled = too many failed attempts; retry later
login-problem-busy = too many logins at once; retry in a second

# The API's documentation page (/api/docs); its descriptions come from the
# OpenAPI document, in English.
docs-title = { $title } API
docs-version = version { $version }
# Followed by a link to the OpenAPI document.
docs-document = the document:
docs-operations = Operations
docs-schemas = Schemas
docs-security = Security:
docs-security-none = no authentication
docs-security-optional = bearer token optional (reads may be public)
docs-security-required = bearer token required
docs-parameters = Parameters
docs-param-name = name
docs-param-in = in
docs-param-type = type
docs-required = required.
docs-request-body = Request body
docs-body-required = required
docs-responses = Responses
docs-headers = Headers:
# Followed by a type.
docs-type = Type:
docs-type-any = any
# Followed by the type of the items.
docs-type-array-of = array of
# Followed by an opening brace and the names of the properties.
docs-type-object = object
# Followed by the values.
docs-type-one-of = one of:
# Followed by the name of a schema.
docs-with-every-field-of = With every field of
