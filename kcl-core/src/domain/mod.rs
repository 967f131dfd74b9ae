//! Domain types: validated values and the entities the services work on.
//!
//! Every type here is valid by construction: the only way to get an [`Isbn`],
//! a [`Money`] or a [`BookDraft`] is through a constructor that checks it.

mod audit;
mod book;
mod book_import;
mod isbn;
mod jobs;
mod locale;
mod media;
mod money;
mod query;
mod rental;
mod s3_event;
mod sales;
mod search;
mod validation;

pub use audit::{
    AuditAction, AuditEvent, AuditPosition, AuditQuery, EntityKind, EntityRef, EventId,
};
pub use book::{Book, BookCover, BookDraft, BookDraftBuilder, BookId, BookLimits};
pub use book_import::{parse_book_import, ImportRow, MAX_IMPORT_ERRORS, MAX_IMPORT_ROWS};
pub use isbn::Isbn;
pub use jobs::{ItemId, ItemResult, ItemStatus, Job, JobId, JobItem, OcrTask, StatusCounts};
pub use media::{BadMessage, CoverKey, TaskMessage, ThumbnailTask};
pub use money::Money;
pub use query::{
    BookFilter, BookKeys, BookQuery, BookSort, Cursor, CursorValue, KeysetStart, Page, PageCount,
    RentalQuery, SortKey, SortOrder,
};
pub use rental::{Rental, RentalId, RentalStatus, RentalStatusFilter, Renter};
pub use s3_event::{ObjectCreated, S3Notification, S3Record};
pub(crate) use sales::is_identifier;
pub use sales::{
    format_cents, neutralise_cell, write_csv_report, DayTotals, GroupBy, IngestPolicy, LoadOutcome,
    ReportLine, ReportMeta, ReportSchedule, SalesFile, SalesKey, StockChange, StockLevel, StoreDay,
    SummaryQuery, SummaryRow, DEFAULT_REPORT_TZ,
};
pub use sales::{
    validate, ColumnMapping, DateOrder, DetectedEncoding, EncodingPolicy, Quantity, RowError,
    RowResult, SalesFileError, SalesFormat, SalesFormatError, SalesProfile, SalesProfileSpec,
    SalesProfiles, SalesReader, SalesRow, SalesValidation, TaxRate, TaxRateSpec, ValidateOptions,
    MAX_DUPLICATE_KEYS, MAX_ID_CHARS, MAX_KEPT_ERRORS, MAX_PRODUCT_NAME_CHARS,
    MAX_QUANTITY_THOUSANDTHS, MAX_RAW_CHARS, MAX_RECEIPT_CHARS, MAX_RECORD_BYTES, MIN_SALE_DATE,
};
// The row spool moved beside the port that takes it (`crate::ports::RowSpool`);
// these names stay for the adapters written against them.
pub use crate::ports::{RowSpool, SpooledRow};
pub use locale::{Currency, Locale};
pub use search::{encode_word, fold, words, SearchTerms};
pub use validation::{FieldError, ValidationError};
