//! Programme versions: applying a new one, and finding the one an order earns under.

use crate::LoyaltyError;
use enishi_core::BusinessClock;
use enishi_loyalty::Program;
use enishi_store::repo::loyalty;
use enishi_store::{Conn, StoreError};
use std::sync::{Arc, Mutex};

/// Every applied programme version, parsed.
#[derive(Debug, Clone)]
pub struct Programs {
    /// (version, effective from in Unix seconds, programme), oldest version first.
    versions: Vec<(i64, i64, Arc<Program>)>,
    clock: BusinessClock,
}

impl Programs {
    /// Reads every stored version.
    pub fn load(c: &mut dyn Conn, clock: BusinessClock) -> Result<Programs, StoreError> {
        let mut versions = Vec::new();
        for p in loyalty::programs(c)? {
            let program = Program::parse(&p.document, &clock)
                .map_err(|e| StoreError::Decode(format!("stored loyalty programme version {}: {e}", p.version)))?;
            versions.push((p.version, p.effective_from, Arc::new(program)));
        }
        Ok(Programs { versions, clock })
    }

    /// The version an order placed at `at` (Unix seconds) earns under: the one with the latest
    /// effective time not after it (the newer version on a tie).
    pub fn at(&self, at: i64) -> Option<(i64, &Program)> {
        self.versions
            .iter()
            .filter(|(_, from, _)| *from <= at)
            .max_by_key(|(v, from, _)| (*from, *v))
            .map(|(v, _, p)| (*v, p.as_ref()))
    }

    /// Version `version`.
    pub fn by_version(&self, version: i64) -> Option<&Program> {
        self.versions.iter().find(|(v, _, _)| *v == version).map(|(_, _, p)| p.as_ref())
    }

    /// The newest version (rewards catalogue, tiers, memberships in force now).
    pub fn latest(&self) -> Option<(i64, &Program)> {
        self.versions.last().map(|(v, _, p)| (*v, p.as_ref()))
    }

    /// The newest version, or [`LoyaltyError::NoProgram`].
    pub fn require(&self) -> Result<(i64, &Program), LoyaltyError> {
        self.latest().ok_or(LoyaltyError::NoProgram)
    }

    /// Since when (Unix seconds) a promotion with this id has been in a programme version:
    /// the earliest effective time of the versions that have it.
    pub fn promotion_since(&self, id: &str) -> Option<i64> {
        self.versions.iter().filter(|(_, _, p)| p.doc.promotions.iter().any(|pr| pr.id == id)).map(|v| v.1).min()
    }

    /// The business clock the programmes were read with.
    pub fn clock(&self) -> &BusinessClock {
        &self.clock
    }

    /// The newest version number (0: none).
    pub fn version(&self) -> i64 {
        self.versions.last().map_or(0, |v| v.0)
    }
}

/// Programmes shared by request handlers, re-read only when a new version was applied (by any
/// process sharing the database).
#[derive(Debug, Default)]
pub struct ProgramCache {
    cached: Mutex<Option<Arc<Programs>>>,
}

impl ProgramCache {
    /// The programmes as stored now.
    pub fn get(&self, c: &mut dyn Conn, clock: BusinessClock) -> Result<Arc<Programs>, StoreError> {
        let newest = c.query_one("SELECT COALESCE(MAX(version), 0) FROM loyalty_programs", &[])?.int(0)?;
        let mut guard = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = guard.as_ref().filter(|p| p.version() == newest) {
            return Ok(p.clone());
        }
        let fresh = Arc::new(Programs::load(c, clock)?);
        *guard = Some(fresh.clone());
        Ok(fresh)
    }
}

/// Validates a programme document (and that the segments it names are saved) and stores it
/// as a new version, effective from its `effective_from` or from now. Returns the version and
/// the programme.
pub fn apply_program(
    c: &mut dyn Conn,
    json: &str,
    clock: BusinessClock,
    applied_by: &str,
) -> Result<(i64, Program), LoyaltyError> {
    let program = Program::parse(json, &clock)?;
    if let Some(missing) = crate::segment_members::missing_segment(c, &program)? {
        return Err(LoyaltyError::Program(missing));
    }
    let from = program.effective_from.map_or_else(|| c.now(), |t| t.timestamp());
    let version = loyalty::insert_program(c, &program.to_json(), from, applied_by)?;
    Ok((version, program))
}
