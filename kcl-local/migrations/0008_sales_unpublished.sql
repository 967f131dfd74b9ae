-- Sales lines whose file is not current: a load still inserting them (in batches, each
-- its own short transaction, so other writers such as rentals are not held up for the
-- whole load), or a replaced file's lines waiting to be deleted. Readers skip lines
-- whose file_id is listed here; the rows are deleted in batches afterwards.
CREATE TABLE sales_unpublished (
    file_id TEXT    NOT NULL PRIMARY KEY,
    -- 'loading' or 'replaced'
    kind    TEXT    NOT NULL,
    since   INTEGER NOT NULL
) WITHOUT ROWID;
