-- Sales files, their lines, stock per SKU and per store/day totals.
-- Quantities are BIGINT thousandths, amounts BIGINT cents, times BIGINT
-- microseconds since the Unix epoch (UTC).
CREATE TABLE sales_files (
    id          UUID   NOT NULL PRIMARY KEY,
    name        TEXT   NOT NULL,
    sha256      TEXT   NOT NULL,
    rows        BIGINT NOT NULL,
    loaded_at   BIGINT NOT NULL,
    -- Set when a newer version of the same name replaced this one.
    replaced_at BIGINT
);

-- One current version per name.
CREATE UNIQUE INDEX sales_files_current_name ON sales_files (name) WHERE replaced_at IS NULL;
CREATE INDEX sales_files_current_sha ON sales_files (sha256) WHERE replaced_at IS NULL;

-- Loaded through COPY. A file's rows are appended together (loads are serialised)
-- and load ids are UUIDv7 (time-ordered), so a BRIN index finds them (deletes of a
-- replaced version, stock) at almost no cost to the load, where a B-tree primary key
-- on (file_id, line) cost a quarter of the COPY time.
CREATE TABLE sales_lines (
    file_id      UUID   NOT NULL,
    line         BIGINT NOT NULL,
    store_id     TEXT   NOT NULL,
    sale_date    DATE   NOT NULL,
    receipt_id   TEXT,
    sku          TEXT   NOT NULL,
    product_name TEXT,
    quantity     BIGINT NOT NULL,
    unit_price   BIGINT NOT NULL,
    revenue      BIGINT NOT NULL
);

CREATE INDEX sales_lines_by_file ON sales_lines USING brin (file_id);

CREATE INDEX sales_lines_by_day ON sales_lines (sale_date, store_id);

CREATE TABLE sales_stock (
    sku        TEXT   NOT NULL PRIMARY KEY,
    quantity   BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE sales_daily (
    store_id  TEXT   NOT NULL,
    sale_date DATE   NOT NULL,
    lines     BIGINT NOT NULL,
    quantity  BIGINT NOT NULL,
    revenue   BIGINT NOT NULL,
    PRIMARY KEY (store_id, sale_date)
);
