# The sales page (upload, a single sale, the summary, reports, stock), the
# report of a loaded file, and the charts.
#
# Arguments named in a comment as "an element" are replaced by a piece of the
# page (code, bold text, a time): keep each once, in the order given.

sales-title = Sales
sales-file-title = Sales file
sales-upload-again = Try again
sales-back = ← Sales

## Upload a file

sales-upload-heading = Upload a sales file
sales-upload-file = CSV file
sales-upload-policy = Policy
sales-policy-lenient = lenient: load the valid rows
sales-policy-strict = strict: any bad row refuses the file
sales-format-summary = Your file's own format (columns, dates, tax)
sales-format-columns = Columns
# Column names before the colons are KCL's and stay as they are; the headers
# after them are examples of a file's own.
sales-format-columns-placeholder = store_id:Branch,sku:Product line,sale_date:Date
# $required and $optional: elements, lists of column names.
sales-format-columns-help = Which of your headers holds each column KCL needs: { $required } (and optionally { $optional }). Other columns are ignored.
sales-format-date-order = Date order
sales-date-order-default = day/month/year (default)
sales-date-order-dmy = day/month/year
sales-date-order-mdy = month/day/year
sales-date-order-ymd = year/month/day
sales-format-tax-rate = Tax included in the total (%)
sales-upload-submit = Load

## Record a sale

sales-record-heading = Record a sale
sales-field-store = Store
sales-field-day = Day
sales-field-sku = SKU
sales-field-quantity = Quantity
sales-field-unit-price = Unit price
sales-record-submit = Record

## The summary

sales-summary-heading = Summary
sales-summary-from = From
sales-summary-to = To
sales-summary-group-by = Group by
# How the summary is grouped: the options of "Group by", and $group in the caption.
sales-group-day = day
sales-group-store = store
sales-group-sku = SKU
sales-summary-submit = Show
sales-summary-caption = By { $group }, { $from } to { $to }
sales-col-group = Group
sales-col-lines = Lines
sales-col-quantity = Quantity
sales-col-revenue = Revenue
sales-col-tax = Tax
sales-col-before-tax = Before tax
sales-summary-empty = No sales in this period.
sales-summary-total = Total

## The charts above the summary

sales-chart-by-day-title = Revenue by day, { $from } to { $to }
sales-chart-by-day-caption = Revenue by day (the table below has the figures).
sales-chart-too-long = { $n ->
    [one] Choose a period of at most { $count } day to chart it day by day.
   *[other] Choose a period of at most { $count } days to chart it day by day.
}
sales-chart-by-store-title = Revenue by store, { $from } to { $to }
sales-chart-by-store-caption = Revenue by store.

## Reports

sales-report-heading = Report
sales-report-format = Format
sales-report-locale = Numbers and dates
sales-report-locale-default = as configured
sales-report-submit = Download the report of { $from } to { $to }
sales-schedule-heading = Scheduled reports
# $setting: an element, the setting's example.
sales-schedule-none = None. With { $setting }, every day at 06:00 the previous day's report of each store that sold is written by itself.
sales-schedule-every-day = Every day at { $time } ({ $tz }), the previous day's report of each store that sold.
# $next: an element, the day and time of the next run.
sales-schedule-next = Next: { $next }.
# $day: an element, the day reported on; $count: the number of reports.
sales-schedule-last = Last: the reports of { $day } ({ $count }).
sales-schedule-last-none = Last: the reports of { $day } ({ $count }): no store sold that day.
sales-schedule-no-run = No run yet.

## Stock

sales-stock-heading = Stock
sales-stock-submit = Look up
# $sku and $quantity: elements, in this order.
sales-stock-level = Stock of { $sku }: { $quantity } (updated { $updated })

## The report of a loaded file

sales-loaded = Loaded.
sales-loaded-rows = { $loaded } of { $total } rows.
sales-duplicate = Already loaded:
sales-duplicate-detail = the same content was loaded before; nothing changed.
sales-refused = Refused:
sales-refused-default = the file was rejected
# $name: an element, the file's name.
sales-replaces = This file replaces the earlier version of { $name }.
sales-file-name = File
sales-file-rows-read = Rows read
sales-file-rows-loaded = Loaded
sales-file-rows-rejected = Rejected
sales-rejected-rows = Rejected rows
sales-file-parquet = Parquet copies
sales-file-date-order = Dates read as
sales-file-profile = Format profile
sales-file-ignored = Columns ignored
sales-error-line = Line
sales-error-column = Column
sales-error-problem = Problem
sales-errors-more = … and { $count } more.

## Charts (SVG): their descriptions, read by screen readers

chart-day-desc = { $n ->
    [one] { $count } day from { $from } to { $to }: { $total } in all; the best day, { $best }, sold { $best_amount }.
   *[other] { $count } days from { $from } to { $to }: { $total } in all; the best day, { $best }, sold { $best_amount }.
}
chart-day-empty = No revenue in this period.
chart-store-empty = No sales in this period.
# The end of a list of stores and their revenue, after the stores shown.
chart-store-more = { $n ->
    [one] and { $count } more store
   *[other] and { $count } more stores
}
