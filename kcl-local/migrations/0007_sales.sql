-- Sales files, their lines, stock per SKU and per store/day totals.
-- Quantities are INTEGER thousandths, amounts INTEGER cents, dates ISO TEXT,
-- times INTEGER microseconds since the Unix epoch (UTC).
CREATE TABLE sales_files (
    id          TEXT    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL,
    sha256      TEXT    NOT NULL,
    rows        INTEGER NOT NULL,
    loaded_at   INTEGER NOT NULL,
    -- Set when a newer version of the same name replaced this one.
    replaced_at INTEGER
) WITHOUT ROWID;

-- One current version per name; a content is current under one name at most.
CREATE UNIQUE INDEX sales_files_current_name ON sales_files (name) WHERE replaced_at IS NULL;
CREATE INDEX sales_files_current_sha ON sales_files (sha256) WHERE replaced_at IS NULL;

CREATE TABLE sales_lines (
    file_id      TEXT    NOT NULL,
    line         INTEGER NOT NULL,
    store_id     TEXT    NOT NULL,
    sale_date    TEXT    NOT NULL,
    receipt_id   TEXT,
    sku          TEXT    NOT NULL,
    product_name TEXT,
    quantity     INTEGER NOT NULL,
    unit_price   INTEGER NOT NULL,
    revenue      INTEGER NOT NULL,
    PRIMARY KEY (file_id, line)
);

CREATE INDEX sales_lines_by_day ON sales_lines (sale_date, store_id);

CREATE TABLE sales_stock (
    sku        TEXT    NOT NULL PRIMARY KEY,
    quantity   INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE sales_daily (
    store_id  TEXT    NOT NULL,
    sale_date TEXT    NOT NULL,
    lines     INTEGER NOT NULL,
    quantity  INTEGER NOT NULL,
    revenue   INTEGER NOT NULL,
    PRIMARY KEY (store_id, sale_date)
) WITHOUT ROWID;
