-- Books and rentals live in one database so that renting is one transaction.
--
-- Times are BIGINT microseconds since the Unix epoch (UTC), like the embedded
-- profile: exact for every time the domain can hold, and what keyset cursors carry.
-- Ids are native UUIDs (byte order, like `Uuid`'s `Ord`). The derived `*_key`
-- columns use the "C" collation, so they sort by code point, like Rust strings.

CREATE TABLE books (
    id           UUID    NOT NULL PRIMARY KEY,
    isbn         TEXT    NOT NULL UNIQUE,
    title        TEXT    NOT NULL,
    author       TEXT    NOT NULL,
    category     TEXT    NOT NULL,
    year         INTEGER NOT NULL,
    price_cents  BIGINT  NOT NULL CHECK (price_cents >= 0),
    copies       BIGINT  NOT NULL CHECK (copies >= 0),
    -- The invariant, enforced by the database as a last line of defence.
    rented       BIGINT  NOT NULL DEFAULT 0 CHECK (rented >= 0 AND rented <= copies),
    summary      TEXT    NOT NULL,
    version      BIGINT  NOT NULL,
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL,
    -- Derived in Rust (kcl_core::domain::fold), for sorting and filtering.
    title_key    TEXT COLLATE "C" NOT NULL,
    author_key   TEXT COLLATE "C" NOT NULL,
    category_key TEXT COLLATE "C" NOT NULL,
    -- The book's search words (kcl_core::domain::words of its folded document),
    -- each in a prefix-preserving [a-z0-9] encoding (see `postgres::search`),
    -- written from Rust with array_to_tsvector: no Postgres parser or dictionary
    -- touches them, so matching is exactly the core's.
    search       TSVECTOR NOT NULL
);

-- One index per sort key; ties are broken by id.
CREATE INDEX books_by_title   ON books (title_key, id);
CREATE INDEX books_by_author  ON books (author_key, id);
CREATE INDEX books_by_year    ON books (year, id);
CREATE INDEX books_by_price   ON books (price_cents, id);
CREATE INDEX books_by_created ON books (created_at, id);
-- The category filter, usually listed by title.
CREATE INDEX books_by_category ON books (category_key, title_key, id);
-- Full-text search (prefix queries `'term':*` use it too). No pending list
-- (`fastupdate`): every search would scan it until (auto)vacuum merges it, 5 ms per
-- search after 100k inserts; a catalog is read far more than written.
CREATE INDEX books_search ON books USING GIN (search) WITH (fastupdate = off);

CREATE TABLE rentals (
    id          UUID   NOT NULL PRIMARY KEY,
    -- No foreign key: a rental outlives its book once returned and the book deleted.
    book_id     UUID   NOT NULL,
    renter      TEXT   NOT NULL,
    rented_at   BIGINT NOT NULL,
    due_date    DATE   NOT NULL,
    returned_at BIGINT
);

-- Listings are newest first, optionally by book or renter.
CREATE INDEX rentals_by_time   ON rentals (rented_at, id);
CREATE INDEX rentals_by_book   ON rentals (book_id, rented_at, id);
CREATE INDEX rentals_by_renter ON rentals (renter, rented_at, id);
CREATE INDEX rentals_active    ON rentals (due_date) WHERE returned_at IS NULL;
