//! The one place HTTP statuses and error bodies are decided.
//!
//! Owns: [`ApiError`] and the mapping of every internal error
//! (`DataStoreError`, `BusError`, request problems) to a status, Open
//! Cloud's error names, and a body in the v1, v2 or gateway shape.
//! Invariant: no handler picks a status for an error itself.

use hyper::StatusCode;

use crate::opencloud::codes::{DetailCode as D, ErrorCode as C};
use crate::opencloud::errors::{GatewayError, V1Error, V2Error};

use crate::bus::BusError;
use crate::datastore::DataStoreError;
use crate::plugin_api::StorageError;

/// Which Open Cloud error body to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// `{"error", "message", "errorDetails": [{"datastoreErrorCode"}]}`.
    V1,
    /// `{"code", "message", "details"}`.
    V2,
    /// `{"errors": [{"code": 0, "message"}]}` (auth and routing).
    Gateway,
}

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Open Cloud's error code name (`INVALID_ARGUMENT`, `NOT_FOUND`...).
    pub code: C,
    /// v1's `datastoreErrorCode`.
    pub detail: D,
    /// What went wrong and what to do.
    pub message: String,
    /// A 405's `Allow` list (empty otherwise).
    pub allow: Vec<&'static str>,
}

impl ApiError {
    /// An error of `status`, `code` and `detail`.
    pub fn new(status: StatusCode, code: C, detail: D, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            detail,
            message: message.into(),
            allow: Vec::new(),
        }
    }

    /// A 400 with a v1 detail code.
    pub fn bad_request(detail: D, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, C::InvalidArgument, detail, message)
    }

    /// A 409 for a create that met an existing resource (v2 bodies carry
    /// `"error": "ALREADY_EXISTS"`).
    pub fn already_exists(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::CONFLICT, C::Aborted, D::AlreadyExists, message)
    }

    /// A 404.
    pub fn not_found(detail: D, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, C::NotFound, detail, message)
    }

    /// A 401 (missing or wrong API key).
    pub fn unauthorized() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            C::Unauthenticated,
            D::Forbidden,
            "Invalid API Key".to_owned(),
        )
    }

    /// A 403: the request is authenticated (or the server takes no key)
    /// but not allowed here; `message` says how to allow it.
    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::FORBIDDEN,
            C::PermissionDenied,
            D::Forbidden,
            message,
        )
    }

    /// A 403: the API key is valid but lacks the scope the request needs
    /// (v1 bodies say `INSUFFICIENT_SCOPE`, v2 bodies `PERMISSION_DENIED`).
    pub fn insufficient_scope(message: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::FORBIDDEN,
            C::InsufficientScope,
            D::InsufficientScope,
            message,
        )
    }

    /// The status of `/readyz`: 200 when ready, else 503.
    pub fn readiness_status(ready: bool) -> StatusCode {
        if ready {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        }
    }

    /// A 412: a write's precondition (`matchVersion`, `exclusiveCreate`)
    /// failed; nothing was written.
    pub fn precondition_failed(message: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            C::FailedPrecondition,
            D::PreconditionFailed,
            message,
        )
    }

    /// A 405: the path exists, but not with this method (`allowed` goes
    /// to the `Allow` header).
    pub fn method_not_allowed(method: &str, allowed: Vec<&'static str>) -> Self {
        let mut e = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            C::InvalidArgument,
            D::Unknown,
            format!("{method} is not allowed here; use {}", allowed.join(" or ")),
        );
        e.allow = allowed;
        e
    }

    /// A 413 (body larger than the server accepts).
    pub fn too_large(limit: usize) -> Self {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            C::InvalidArgument,
            D::ContentTooBig,
            format!("request body exceeds {limit} bytes"),
        )
    }

    /// A 408: the request body did not arrive in time (a slow or
    /// abandoned upload must not hold a connection forever).
    pub fn body_timeout(limit: std::time::Duration) -> Self {
        ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            C::DeadlineExceeded,
            D::Unknown,
            format!(
                "the request body did not arrive within {} s",
                limit.as_secs_f64()
            ),
        )
    }

    /// A 429: the server's cap on concurrent long-polls is reached.
    pub fn too_many_long_polls(limit: usize) -> Self {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            C::ResourceExhausted,
            D::TooManyRequests,
            format!(
                "{limit} long-polls are already waiting (server.max_long_polls); retry later or poll with timeout=0"
            ),
        )
    }

    /// The body in `style` (compact JSON).
    pub fn body(&self, style: Style) -> String {
        let message = self.message.clone();
        let body = match style {
            Style::V1 => serde_json::to_string(&V1Error::new(self.code, self.detail, message)),
            Style::V2 => serde_json::to_string(&V2Error {
                // v2 has no `INSUFFICIENT_SCOPE`: Open Cloud says `PERMISSION_DENIED`.
                code: match self.code {
                    C::InsufficientScope => C::PermissionDenied,
                    c => c,
                },
                error: (self.detail == D::AlreadyExists).then(|| "ALREADY_EXISTS".to_owned()),
                message,
                details: Vec::new(),
            }),
            Style::Gateway => serde_json::to_string(&GatewayError::new(message)),
        };
        body.unwrap_or_default()
    }
}

impl From<DataStoreError> for ApiError {
    fn from(e: DataStoreError) -> Self {
        let message = e.to_string();
        let bad = |detail| ApiError::bad_request(detail, message.clone());
        match e {
            DataStoreError::KeyNameEmpty | DataStoreError::KeyNameLimit { .. } => {
                bad(D::InvalidEntryKey)
            }
            DataStoreError::InvalidDataStoreName(_) => bad(D::InvalidDataStoreName),
            DataStoreError::InvalidScope(_) => bad(D::InvalidDataStoreScope),
            DataStoreError::ValueTooLarge { .. } => bad(D::ContentTooBig),
            DataStoreError::CantStoreValue { .. } | DataStoreError::ValueNotAllowed(_) => {
                bad(D::ContentNotJson)
            }
            DataStoreError::AttributeSizeTooLarge { .. } => bad(D::InvalidAttributes),
            DataStoreError::AttributeFormatError("userId")
            | DataStoreError::UserIdLimitExceeded { .. } => bad(D::InvalidUserIds),
            DataStoreError::AttributeFormatError(_) => bad(D::InvalidAttributes),
            DataStoreError::InvalidTimestamp => bad(D::InvalidStartTime),
            DataStoreError::InvalidVersion(_) => bad(D::InvalidVersionId),
            DataStoreError::InvalidCursor => bad(D::InvalidCursor),
            DataStoreError::InvalidPageSize { .. } => bad(D::Unknown),
            DataStoreError::ExistingValueNotNumeric => bad(D::ExistingValueNotNumeric),
            DataStoreError::IncrementOverflow => bad(D::IncrementValueTooLarge),
            // Data store management: entry calls on a deleted store are
            // 404 (Roblox: "inaccessible"), with the `DatastoreDeleted`
            // detail; an unknown store is 404; undeleting an active one 400.
            DataStoreError::DataStoreDeleted { .. } => {
                ApiError::not_found(D::DatastoreDeleted, message)
            }
            DataStoreError::DataStoreNotFound { .. } => ApiError::not_found(D::NotFound, message),
            DataStoreError::DataStoreNotDeleted { .. } => bad(D::Unknown),
            DataStoreError::Storage(StorageError::Unavailable(_)) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                C::Unavailable,
                D::Unknown,
                message,
            ),
            DataStoreError::Remote(ref r) if r.is_transient() => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                C::Unavailable,
                D::Unknown,
                message,
            ),
            DataStoreError::Remote(_) => {
                ApiError::new(StatusCode::BAD_GATEWAY, C::Internal, D::Unknown, message)
            }
            DataStoreError::Fault(f) => ApiError::injected(&f),
            DataStoreError::Storage(_) => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                C::Internal,
                D::Unknown,
                message,
            ),
        }
    }
}

impl From<crate::sessions::SessionError> for ApiError {
    fn from(e: crate::sessions::SessionError) -> Self {
        use crate::engine::EngineError;
        use crate::sessions::SessionError;
        let message = e.to_string();
        let conflict =
            |message: String| ApiError::new(StatusCode::CONFLICT, C::Aborted, D::Unknown, message);
        match e {
            SessionError::NotFound { .. } => ApiError::not_found(D::NotFound, message),
            SessionError::Ended { .. } | SessionError::Stale { .. } => conflict(message),
            SessionError::BadRequest(_) => ApiError::bad_request(D::Unknown, message),
            SessionError::Closing => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                C::Unavailable,
                D::Unknown,
                message,
            ),
            SessionError::Engine(EngineError::AlreadyActive { .. })
            | SessionError::Engine(EngineError::SessionInactive(_)) => conflict(message),
            SessionError::Engine(EngineError::InvalidName(_))
            | SessionError::Engine(EngineError::DataShape(_)) => {
                ApiError::bad_request(D::Unknown, message)
            }
            SessionError::Engine(EngineError::DataStore(e)) => e.into(),
        }
    }
}

impl From<crate::history::HistoryError> for ApiError {
    /// A history that cannot be read (storage trouble, or none on this
    /// server) is a 503 to retry.
    fn from(e: crate::history::HistoryError) -> Self {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            C::Unavailable,
            D::Unknown,
            e.to_string(),
        )
    }
}

impl From<crate::cluster::ClusterError> for ApiError {
    /// A clock move the clock refuses is the caller's 400; the shared
    /// records being unavailable or contended is a 503 to retry.
    fn from(e: crate::cluster::ClusterError) -> Self {
        use crate::cluster::ClusterError;
        match e {
            ClusterError::Clock(c) => ApiError::bad_request(D::Unknown, c.to_string()),
            e => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                C::Unavailable,
                D::Unknown,
                e.to_string(),
            ),
        }
    }
}

impl From<BusError> for ApiError {
    fn from(e: BusError) -> Self {
        match e {
            BusError::Fault(f) => ApiError::injected(&f),
            e @ BusError::Storage(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                C::Unavailable,
                D::Unknown,
                e.to_string(),
            ),
            e => ApiError::bad_request(D::Unknown, e.to_string()),
        }
    }
}

impl ApiError {
    /// An emulator fault: 429 `RESOURCE_EXHAUSTED` for a throttle, else
    /// 500 `INTERNAL`, with Roblox's text.
    fn injected(f: &crate::faults::Injected) -> Self {
        if f.is_throttle() {
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                C::ResourceExhausted,
                D::TooManyRequests,
                f.to_string(),
            )
        } else {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                C::Internal,
                D::Unknown,
                f.to_string(),
            )
        }
    }

    /// A refused fault (`POST /emulator/v1/faults`).
    pub fn fault_spec(e: &crate::faults::FaultSpecError) -> Self {
        ApiError::bad_request(D::Unknown, e.to_string())
    }
}

impl From<crate::ordered::OrderedError> for ApiError {
    /// Ordered data stores (Open Cloud v1, v2 and the engine API): bad
    /// input is 400 with Roblox's message, a missing entry 404, a key that
    /// kept conflicting 409, storage trouble 503/500, a remote server's
    /// failure 503 (transient) or 502.
    fn from(e: crate::ordered::OrderedError) -> Self {
        use crate::ordered::OrderedError as O;
        let message = e.to_string();
        let bad = |detail| ApiError::bad_request(detail, message.clone());
        match e {
            O::KeyNameEmpty | O::KeyNameLimit { .. } => bad(D::InvalidEntryKey),
            O::InvalidDataStoreName(_) => bad(D::InvalidDataStoreName),
            O::InvalidScope(_) => bad(D::InvalidDataStoreScope),
            O::InvalidCursor => bad(D::InvalidCursor),
            O::IncrementOverflow => bad(D::IncrementValueTooLarge),
            O::ValueNotAllowed { .. }
            | O::NotAnInteger { .. }
            | O::ValueOutOfRange { .. }
            | O::PageSizeOutOfRange { .. }
            | O::MinValueInvalid
            | O::MaxValueInvalid
            | O::MinMaxOrderInvalid
            | O::BatchSize { .. }
            | O::NoMorePages
            | O::EntryExists => bad(D::Unknown),
            O::EntryNotFound => ApiError::not_found(D::EntryNotFound, message),
            O::TooManyConflicts { .. } => {
                ApiError::new(StatusCode::CONFLICT, C::Aborted, D::Unknown, message)
            }
            O::Storage(StorageError::Unavailable(_)) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                C::Unavailable,
                D::Unknown,
                message,
            ),
            O::Remote(ref r) if r.is_transient() => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                C::Unavailable,
                D::Unknown,
                message,
            ),
            O::Remote(_) => {
                ApiError::new(StatusCode::BAD_GATEWAY, C::Internal, D::Unknown, message)
            }
            O::Fault(f) => ApiError::injected(&f),
            O::Storage(_) => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                C::Internal,
                D::Unknown,
                message,
            ),
        }
    }
}

impl From<crate::budgets::Throttled> for ApiError {
    // Every throttle is Open Cloud's 429; the message names Roblox's error.
    fn from(e: crate::budgets::Throttled) -> Self {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            C::ResourceExhausted,
            D::TooManyRequests,
            e.to_string(),
        )
    }
}

impl From<crate::snapshots::SnapshotError> for ApiError {
    // Emulator snapshots: a bad id 400, a taken id 409, an unknown one 404,
    // storage trouble 503 (transient) or 500.
    fn from(e: crate::snapshots::SnapshotError) -> Self {
        use crate::snapshots::SnapshotError as S;
        let message = e.to_string();
        match e {
            S::InvalidId(_) => ApiError::bad_request(D::Unknown, message),
            S::AlreadyExists(_) => {
                ApiError::new(StatusCode::CONFLICT, C::AlreadyExists, D::Unknown, message)
            }
            S::NotFound(_) => ApiError::not_found(D::NotFound, message),
            S::Storage(StorageError::Unavailable(_)) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                C::Unavailable,
                D::Unknown,
                message,
            ),
            S::NoLocalStorage | S::Storage(_) | S::Reload(_) => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                C::Internal,
                D::Unknown,
                message,
            ),
        }
    }
}

impl From<crate::memorystore::MemoryStoreError> for ApiError {
    // Memory stores: bad input 400, limits and quotas 429, a lost
    // `UpdateAsync` 409, a remote server's failure 503 (transient) or 502.
    fn from(e: crate::memorystore::MemoryStoreError) -> Self {
        use crate::memorystore::MemoryStoreError as M;
        let message = e.to_string();
        match e {
            M::ItemsOverLimit | M::StructureMemoryOverLimit | M::TotalMemoryOverLimit => {
                ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    C::ResourceExhausted,
                    D::Unknown,
                    message,
                )
            }
            M::UpdateConflict => {
                ApiError::new(StatusCode::CONFLICT, C::Aborted, D::Unknown, message)
            }
            M::Remote(ref r) if r.is_transient() => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                C::Unavailable,
                D::Unknown,
                message,
            ),
            M::Remote(_) => {
                ApiError::new(StatusCode::BAD_GATEWAY, C::Internal, D::Unknown, message)
            }
            M::Storage(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                C::Unavailable,
                D::Unknown,
                message,
            ),
            M::Fault(f) => ApiError::injected(&f),
            _ => ApiError::bad_request(D::Unknown, message),
        }
    }
}
