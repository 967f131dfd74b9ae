-- A book's cover: the uploaded original's blob key and its thumbnail's, when made.
ALTER TABLE books ADD COLUMN cover_key TEXT, ADD COLUMN thumb_key TEXT;
