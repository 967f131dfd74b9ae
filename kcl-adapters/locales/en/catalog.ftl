# The catalog: the book list and search, a book's page, its forms, rentals.

catalog-title = Catalog
catalog-search = Search
catalog-search-placeholder = Search title, author, summary
catalog-category = Category
catalog-author = Author
catalog-available-only = available only
catalog-sort = Sort
catalog-sort-title = Title
catalog-sort-title-desc = Title (Z-A)
catalog-sort-author = Author
catalog-sort-newest-year = Newest year
catalog-sort-oldest-year = Oldest year
catalog-sort-cheapest = Cheapest
catalog-sort-recent = Recently added
catalog-sort-most-rented = Most rented
catalog-col-title = Title
catalog-col-author = Author
catalog-col-category = Category
catalog-col-year = Year
catalog-col-price = Price
catalog-col-available = Available
catalog-none = No books match.
# "1-25 of 1,000+": where this page is, and how many there are (up to a cap).
catalog-shown-range = { $from }-{ $to } of { $count }
catalog-shown = { $shown } of { $count }
catalog-add-heading = Add a book
catalog-add = Add
catalog-renter = Renter
catalog-rent = Rent

book-by = by
book-isbn = ISBN
book-price = Price
book-copies-available = { $available } of { $copies } copies available
book-version = version { $version }
book-cover-alt = Cover of { $title }
book-thumbnail-failed = The cover could not be turned into a thumbnail:
book-cover-pending = Cover uploaded; its thumbnail is being made ({ $status }).
book-cover-status = status
book-no-cover = No cover yet.
book-cover-legend = Cover image
book-cover-file = JPEG, PNG, WebP or GIF
book-cover-upload = Upload
book-rentals = Rentals
book-no-rentals = No rentals yet.
book-edit = Edit
book-save = Save
book-save-anyway = Save anyway
book-edit-title = Edit { $title }
book-delete-legend = Delete
book-delete = Delete this book
book-history = History
book-back = ← The book

form-title = Title
form-author = Author
form-isbn = ISBN
form-category = Category
form-year = Year
form-price = Price
form-copies = Copies
form-summary = Summary
form-bad-number = must be a whole number
form-bad-date = must be a date like 2026-12-31
form-bad-version = the form has no valid version: reload the page

rent-legend = Rent a copy
rent-renter = Renter
rent-due = Due date (optional)
rent-submit = Rent

rentals-title = Rentals
rentals-overdue = Overdue
rentals-active = Out
rentals-returned = Returned
rentals-none = No rentals here.
rentals-col-book = Book
rentals-col-renter = Renter
rentals-col-rented = Rented
rentals-col-due = Due
rentals-col-status = Status
rentals-book-link = book
rentals-return = Return
rental-status-active = active
rental-status-overdue = overdue
rental-status-returned = returned

# Field errors in Portuguese by their code; in English the domain's own message
# (which names the limits) is shown.
field-required = must not be empty
field-too-short = is too short
field-too-long = is too long
field-control-character = must not contain control characters
field-out-of-range = is out of range
field-bad-format = is not in the expected format
field-bad-checksum = the check digit does not match
field-negative = must not be negative
field-too-large = is too large
field-bad-number = must be a whole number
field-bad-date = must be a date
