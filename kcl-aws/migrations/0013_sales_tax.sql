-- The tax a line's revenue includes (files read with a tax rate), in cents; 0 for
-- every line loaded before. A constant default: no table rewrite.
ALTER TABLE sales_lines ADD COLUMN tax BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sales_day_sums ADD COLUMN tax BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sales_daily ADD COLUMN tax BIGINT NOT NULL DEFAULT 0;
