-- The tax a line's revenue includes (files read with a tax rate), in cents; 0 for
-- every line loaded before.
ALTER TABLE sales_lines ADD COLUMN tax INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sales_daily ADD COLUMN tax INTEGER NOT NULL DEFAULT 0;
