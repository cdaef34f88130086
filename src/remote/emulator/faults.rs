//! The faults control from Rust: [`Emulator::fault`] and its companions,
//! one request each to `/emulator/v1/faults`.
//!
//! Owns: these four methods. Invariants: as `mod.rs` (nothing cached; a
//! refused fault is the server's 400 as a [`RemoteError`]).

use hyper::Method;

use super::super::RemoteError;
use super::Emulator;
use crate::opencloud::emulator::{FaultInfo, FaultList, FaultSpec};

const FAULTS: &str = "/emulator/v1/faults";

impl Emulator {
    /// Adds a fault; the server's copy, with its id and counters.
    pub async fn fault(&self, spec: &FaultSpec) -> Result<FaultInfo, RemoteError> {
        let body = serde_json::to_value(spec).unwrap_or_default();
        self.client().json(Method::POST, FAULTS, Some(&body)).await
    }

    /// Every fault, with `fired` and `remaining`.
    pub async fn faults(&self) -> Result<Vec<FaultInfo>, RemoteError> {
        let list: FaultList = self.client().json(Method::GET, FAULTS, None).await?;
        Ok(list.faults)
    }

    /// Removes fault `id` (a 404 error when there is none).
    pub async fn remove_fault(&self, id: &str) -> Result<(), RemoteError> {
        let path = format!("{FAULTS}/{}", super::super::client::segment(id));
        let _: serde_json::Value = self.client().json(Method::DELETE, &path, None).await?;
        Ok(())
    }

    /// Removes every fault.
    pub async fn clear_faults(&self) -> Result<(), RemoteError> {
        let _: serde_json::Value = self.client().json(Method::DELETE, FAULTS, None).await?;
        Ok(())
    }
}
