use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::ValidationError;

/// The identifier of an audit event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct EventId(pub Uuid);

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The kind of entity an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EntityKind {
    /// A book (rentals of a book are recorded in the book's history).
    Book,
    /// An OCR job.
    Job,
    /// A sales file (its id is the file's name).
    SalesFile,
    /// A SKU's stock.
    Stock,
}

impl EntityKind {
    /// Every kind, in declaration order.
    ///
    /// ```
    /// use kcl_core::domain::EntityKind;
    /// assert!(EntityKind::ALL.iter().all(|k| EntityKind::parse(k.as_str()).ok() == Some(*k)));
    /// ```
    pub const ALL: &'static [EntityKind] = &[Self::Book, Self::Job, Self::SalesFile, Self::Stock];

    /// The stable name (`book`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Book => "book",
            Self::Job => "job",
            Self::SalesFile => "sales_file",
            Self::Stock => "stock",
        }
    }

    /// Parses a stable name.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        match s {
            "book" => Ok(Self::Book),
            "job" => Ok(Self::Job),
            "sales_file" => Ok(Self::SalesFile),
            "stock" => Ok(Self::Stock),
            _ => Err(ValidationError::field(
                "entity_type",
                "unknown-entity-type",
                "must be one of: book, job, sales_file, stock",
            )),
        }
    }
}

/// Which entity: kind and identifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntityRef {
    /// What sort of entity (`book`, `job`...), `entity_type` on the wire.
    #[serde(rename = "entity_type")]
    pub kind: EntityKind,
    /// Identifier as text.
    #[serde(rename = "entity_id")]
    pub id: String,
}

impl EntityRef {
    /// A book's reference.
    pub fn book(id: super::BookId) -> Self {
        Self {
            kind: EntityKind::Book,
            id: id.to_string(),
        }
    }

    /// An OCR job's reference.
    pub fn job(id: super::JobId) -> Self {
        Self {
            kind: EntityKind::Job,
            id: id.to_string(),
        }
    }
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuditAction {
    /// The entity was created (data holds what it was created with).
    Created,
    /// Some of its fields changed (data holds the new values).
    Updated,
    /// The entity was deleted.
    Deleted,
    /// A copy was rented (data holds the rental).
    Rented,
    /// A copy was returned (data holds the rental).
    Returned,
    /// A cover image was uploaded (data holds its key and format).
    CoverUploaded,
    /// A cover's thumbnail was made (data holds its key and size).
    ThumbnailCreated,
    /// A sales file was loaded (data holds the ingest report's figures).
    Ingested,
    /// An OCR job's item went to PROCESSING (data: `item`); a retried item logs it
    /// again.
    ItemProcessing,
    /// An OCR job's item was read (data: `item`, `confidence`, `seconds` since it
    /// went to PROCESSING).
    ItemDone,
    /// An OCR job's item failed (data: `item`, `reason`).
    ItemError,
    /// An OCR job's item expired unfinished (data: `item`).
    ItemExpired,
}

impl AuditAction {
    /// Every action, in declaration order.
    ///
    /// ```
    /// use kcl_core::domain::AuditAction;
    /// assert!(AuditAction::ALL.iter().all(|a| AuditAction::parse(a.as_str()) == Some(*a)));
    /// ```
    pub const ALL: &'static [AuditAction] = &[
        Self::Created,
        Self::Updated,
        Self::Deleted,
        Self::Rented,
        Self::Returned,
        Self::CoverUploaded,
        Self::ThumbnailCreated,
        Self::Ingested,
        Self::ItemProcessing,
        Self::ItemDone,
        Self::ItemError,
        Self::ItemExpired,
    ];

    /// The stable name (`created`, `rented`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Deleted => "deleted",
            Self::Rented => "rented",
            Self::Returned => "returned",
            Self::CoverUploaded => "cover_uploaded",
            Self::ThumbnailCreated => "thumbnail_created",
            Self::Ingested => "ingested",
            Self::ItemProcessing => "item_processing",
            Self::ItemDone => "item_done",
            Self::ItemError => "item_error",
            Self::ItemExpired => "item_expired",
        }
    }

    /// Parses a stable name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "created" => Self::Created,
            "updated" => Self::Updated,
            "deleted" => Self::Deleted,
            "rented" => Self::Rented,
            "returned" => Self::Returned,
            "cover_uploaded" => Self::CoverUploaded,
            "thumbnail_created" => Self::ThumbnailCreated,
            "ingested" => Self::Ingested,
            "item_processing" => Self::ItemProcessing,
            "item_done" => Self::ItemDone,
            "item_error" => Self::ItemError,
            "item_expired" => Self::ItemExpired,
            _ => return None,
        })
    }
}

/// One audit event: who/what/when, with the data that changed as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEvent {
    /// Event id.
    pub event_id: EventId,
    /// What happened.
    pub action: AuditAction,
    /// To which entity.
    #[serde(flatten)]
    pub entity: EntityRef,
    /// The data (the new state, or the rental).
    pub data: serde_json::Value,
    /// When (UTC; serialized as ISO-8601).
    pub occurred_at: DateTime<Utc>,
}

impl AuditEvent {
    /// The event with `key` set to `value` in its data (an object): how a
    /// repository adds what only the write itself learns (the file a sales load
    /// replaced, the stock level a change left) to the event it stores with it.
    ///
    /// ```
    /// # use kcl_core::domain::{AuditAction, AuditEvent, EntityRef, EventId, BookId};
    /// let e = AuditEvent {
    ///     event_id: EventId(uuid::Uuid::nil()),
    ///     action: AuditAction::Updated,
    ///     entity: EntityRef::book(BookId(uuid::Uuid::nil())),
    ///     data: serde_json::json!({"change": "set"}),
    ///     occurred_at: chrono::Utc::now(),
    /// };
    /// let noted = e.noting("on_hand", "3.000");
    /// assert_eq!(noted.data, serde_json::json!({"change": "set", "on_hand": "3.000"}));
    /// ```
    pub fn noting(&self, key: &str, value: impl Serialize) -> Self {
        let mut out = self.clone();
        let value = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
        match &mut out.data {
            serde_json::Value::Object(map) => {
                map.insert(key.to_owned(), value);
            }
            other => {
                let mut map = serde_json::Map::new();
                map.insert("data".to_owned(), other.take());
                map.insert(key.to_owned(), value);
                *other = serde_json::Value::Object(map);
            }
        }
        out
    }
}

/// Where an audit search stands: the next page holds the events strictly older than
/// this one (by `occurred_at`, then event id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AuditPosition {
    /// The event's time.
    #[serde(rename = "t")]
    pub occurred_at: DateTime<Utc>,
    /// The event's id: the order among events of the same time.
    #[serde(rename = "id")]
    pub event_id: EventId,
}

impl AuditPosition {
    /// The position of `event`.
    pub fn of(event: &AuditEvent) -> Self {
        Self {
            occurred_at: event.occurred_at,
            event_id: event.event_id,
        }
    }
}

/// An audit search across entities: every event of an action, of a kind of entity,
/// within a time window, newest first (by `occurred_at`, then event id, both
/// descending), a page at a time.
///
/// Fields left `None` do not filter. New filters may come in a minor release
/// (`#[non_exhaustive]`): start from [`AuditQuery::new`] and set fields.
///
/// ```
/// use kcl_core::domain::{AuditAction, AuditQuery, EntityKind};
/// let mut q = AuditQuery::new(50);
/// q.action = Some(AuditAction::Deleted);
/// q.entity_type = Some(EntityKind::Book);
/// assert_eq!(q.limit, 50);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuditQuery {
    /// Only events of this action.
    pub action: Option<AuditAction>,
    /// Only events about this kind of entity.
    pub entity_type: Option<EntityKind>,
    /// Only events at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only events strictly before this time.
    pub until: Option<DateTime<Utc>>,
    /// Only events strictly older than this position (the previous page's last
    /// event).
    pub before: Option<AuditPosition>,
    /// Events at most.
    pub limit: u32,
}

impl AuditQuery {
    /// Every event, newest first, `limit` at most.
    pub fn new(limit: u32) -> Self {
        Self {
            action: None,
            entity_type: None,
            from: None,
            until: None,
            before: None,
            limit,
        }
    }

    /// Whether `event` is one this query asks for (ignoring the limit): what every
    /// adapter's answer must agree with.
    ///
    /// ```
    /// # use kcl_core::domain::{AuditAction, AuditEvent, AuditQuery, EntityRef, EventId, BookId};
    /// let e = AuditEvent {
    ///     event_id: EventId(uuid::Uuid::nil()),
    ///     action: AuditAction::Deleted,
    ///     entity: EntityRef::book(BookId(uuid::Uuid::nil())),
    ///     data: serde_json::json!({}),
    ///     occurred_at: chrono::Utc::now(),
    /// };
    /// let mut q = AuditQuery::new(10);
    /// q.action = Some(AuditAction::Created);
    /// assert!(!q.matches(&e));
    /// q.action = Some(AuditAction::Deleted);
    /// assert!(q.matches(&e));
    /// ```
    pub fn matches(&self, event: &AuditEvent) -> bool {
        self.action.is_none_or(|a| a == event.action)
            && self.entity_type.is_none_or(|k| k == event.entity.kind)
            && self.from.is_none_or(|t| event.occurred_at >= t)
            && self.until.is_none_or(|t| event.occurred_at < t)
            && self.before.is_none_or(|p| AuditPosition::of(event) < p)
    }
}
