# jobs: the OCR job pages (the list, the upload form, a job's texts and its
# processing log) and the audit page.

jobs-title = OCR jobs
jobs-engine = Engine: { $engine }
jobs-no-engine = OCR is not enabled in this build (cargo feature `tesseract`); jobs cannot be created.
jobs-col-name = Name
jobs-col-status = Status
jobs-col-images = Images
jobs-col-done = Done
jobs-col-errors = Errors
jobs-col-created = Created
jobs-none = No jobs yet.
jobs-total = { $n ->
    [one] { $count } job
   *[other] { $count } jobs
}
jobs-back = ← OCR jobs
jobs-new = New job
jobs-new-name = Name
jobs-new-images = Images
jobs-new-submit = Read the text

# An item's (or a job's) status, as a badge.
jobs-status-pending = PENDING
jobs-status-processing = PROCESSING
jobs-status-done = DONE
jobs-status-error = ERROR
jobs-status-expired = EXPIRED

# A job's page.
jobs-status = Status
jobs-images = { $n ->
    [one] { $count } image
   *[other] { $count } images
}
# Followed by the date and time.
jobs-created = created
jobs-image-heading = Image { $n }
jobs-confidence = confidence { $value }
jobs-duplicate = same image as an earlier one: read once
jobs-log = Processing log
# In the processing log: which image an event is about.
jobs-an-image = an image
jobs-image-n = image { $n }
jobs-log-processing = { $image }: processing
jobs-log-done = { $image }: done
jobs-log-confidence = confidence { $value }
jobs-log-seconds = { $seconds } s
jobs-log-error = { $image }: error
jobs-log-expired = { $image }: expired
# Another event of the job; $action is one of the audit-action-* labels.
jobs-log-job = job { $action }
jobs-delete = Delete
jobs-delete-submit = Delete this job and its images

# The audit page.
audit-title = Audit log
audit-filter-action = Action
audit-filter-entity = Entity
audit-filter-any = any
audit-filter-from = From
audit-filter-to = To
audit-filter-submit = Show
audit-col-when = When
audit-col-action = Action
audit-col-entity = Entity
audit-col-id = Id
audit-col-data = Data
audit-none = No events match.
audit-newest = ← Newest
audit-older = Older events →

# What happened (the API's stable names in English).
audit-action-created = created
audit-action-updated = updated
audit-action-deleted = deleted
audit-action-rented = rented
audit-action-returned = returned
audit-action-cover-uploaded = cover_uploaded
audit-action-thumbnail-created = thumbnail_created
audit-action-ingested = ingested
audit-action-item-processing = item_processing
audit-action-item-done = item_done
audit-action-item-error = item_error
audit-action-item-expired = item_expired

# The kinds of entity (the API's stable names in English).
audit-entity-book = book
audit-entity-job = job
audit-entity-sales-file = sales_file
audit-entity-stock = stock
