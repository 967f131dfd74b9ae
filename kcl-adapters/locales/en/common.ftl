# What every page shares: the navigation, the layout, error pages, the language
# link, and the titles of problem documents (by HTTP status).

site-name = KCL
nav-catalog = Catalog
nav-rentals = Rentals
nav-jobs = OCR jobs
nav-sales = Sales
nav-audit = Audit
nav-api = API
nav-log-in = Log in
nav-log-out = Log out
nav-no-role = no role
# The link to the other language, written in that language.
lang-switch-en = English
lang-switch-pt-BR = Português
lang-switch-label = Language
lang-unknown = There is no language “{ $tag }”: KCL speaks en and pt-BR.
live-note = This page updates itself while work is running.
live-reload = Reload
error-title = Something is not right
back = Back
back-to-catalog = Catalog
previous-page = ← Previous page
next-page = Next page →
cross-site-form = this form was posted from another site

status-400 = Bad Request
status-401 = Unauthorized
status-403 = Forbidden
status-404 = Not Found
status-405 = Method Not Allowed
status-406 = Not Acceptable
status-408 = Request Timeout
status-409 = Conflict
status-410 = Gone
status-411 = Length Required
status-412 = Precondition Failed
status-413 = Payload Too Large
status-415 = Unsupported Media Type
status-422 = Unprocessable Entity
status-428 = Precondition Required
status-429 = Too Many Requests
status-500 = Internal Server Error
status-502 = Bad Gateway
status-503 = Service Unavailable
status-504 = Gateway Timeout
