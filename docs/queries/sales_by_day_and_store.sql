-- Sales per day and store, read from KCL's curated Parquet copies with DuckDB: the
-- figures of GET /api/sales/summary (group_by=day, group_by=store), without KCL
-- running. docs/sales.md ("Querying the curated copies") says how to run it.
--
-- The path is the embedded profile's (KCL_DATA_DIR=./kcl-data, KCL_BLOBS unset);
-- on S3, 's3://<media bucket>/sales/curated/*/*/*.parquet' (DuckDB's httpfs).
SELECT
    strftime(sale_date, '%Y-%m-%d') AS day,
    store_id,
    count(*) AS lines,
    sum(quantity) AS quantity,
    sum(revenue) AS revenue
FROM read_parquet(
    'kcl-data/blobs/objects/sales/curated/*/*/*.parquet',
    hive_partitioning = true
)
GROUP BY ALL
ORDER BY day, store_id;
