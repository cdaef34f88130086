//! The server's fault plan: rules that make matching calls fail, fail
//! ambiguously, throttle or wait, on demand.
//!
//! Owns: [`FaultPlan`] (cloneable, shared: every clone sees the same
//! rules), rule validation ([`FaultPlan::add`]), matching and counting
//! ([`FaultPlan::check`]) and the one way a hooked call applies an effect
//! ([`FaultPlan::apply`]). Invariants: rules are tried in the order they
//! were added and at most one fires per call; a rule with `times` fires at
//! most that many times; probabilities draw from a seeded RNG per rule (the
//! same calls give the same fires, run after run); with no rule a call
//! costs one atomic load; `error` and `throttle` change nothing, `ambiguous`
//! on a write lets the write land and then fails it (on a read it is
//! `error`), `latency` waits and then runs the call; every fire is counted
//! in the server's metrics (by operation and effect).

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::ops::{Family, Operation};
use crate::opencloud::emulator::{FaultInfo, FaultMatch, FaultSpec};

/// The longest latency a fault may add (a longer one would outlive every
/// client's timeout).
pub const MAX_LATENCY_MS: u64 = 600_000;

/// What a fault does to a call it matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Fails with Roblox's internal error; nothing changes.
    Error,
    /// A write lands, then fails like `Error`.
    Ambiguous,
    /// Fails with Roblox's throttle error; nothing changes.
    Throttle,
    /// Waits, then runs.
    Latency(Duration),
}

/// How an injected failure presents itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InjectedKind {
    /// Roblox's internal error (for `ambiguous`, after the write landed).
    Failure,
    /// Roblox's throttle error.
    Throttled,
}

/// The error a faulted call returns; its text is Roblox's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{} (emulator fault {fault})", self.roblox_text())]
pub struct Injected {
    /// The rule that fired.
    pub fault: String,
    /// The call it fired on.
    pub operation: Operation,
    /// Failure or throttle.
    pub kind: InjectedKind,
}

impl Injected {
    /// Roblox's text for this failure of this operation.
    pub fn roblox_text(&self) -> String {
        let kind = self.operation.kind();
        match (self.kind, self.operation.family()) {
            (InjectedKind::Failure, Family::Standard | Family::Ordered) => {
                "502: API Services rejected request with error. HTTP 500 (Internal Server Error)"
                    .to_owned()
            }
            (InjectedKind::Throttled, Family::Standard) => {
                format!("Standard{kind}ExperienceThrottled: Standard{kind} request was throttled by experience limits.")
            }
            (InjectedKind::Throttled, Family::Ordered) => {
                format!("Ordered{kind}ExperienceThrottled: Ordered{kind} request was throttled by experience limits.")
            }
            (InjectedKind::Failure, Family::Memory) => {
                "InternalError: The request failed because of an internal error.".to_owned()
            }
            (InjectedKind::Throttled, Family::Memory) => {
                "RequestThrottled: Recent MemoryStores requests hit one or more limits.".to_owned()
            }
            (InjectedKind::Failure, Family::Messaging) => {
                "MessagingService: PublishAsync failed: HTTP 500 (Internal Server Error)".to_owned()
            }
            (InjectedKind::Throttled, Family::Messaging) => {
                "MessagingService: PublishAsync was throttled: request limit exceeded.".to_owned()
            }
        }
    }

    /// True for a throttle (Open Cloud answers 429).
    pub fn is_throttle(&self) -> bool {
        self.kind == InjectedKind::Throttled
    }
}

/// Why a fault was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultSpecError {
    /// Not one of the four effects.
    #[error("unknown effect `{0}`: use error, ambiguous, throttle or latency")]
    UnknownEffect(String),
    /// Not an operation name.
    #[error("unknown operation `{0}`; operations are: {1}")]
    UnknownOperation(String, String),
    /// Probability outside 0..=1.
    #[error("probability must be from 0 to 1 (got {0})")]
    Probability(String),
    /// A latency fault without its latency.
    #[error("a latency fault needs latencyMs")]
    MissingLatency,
    /// A latency longer than [`MAX_LATENCY_MS`].
    #[error("latencyMs is at most {MAX_LATENCY_MS} (10 minutes; got {0})")]
    LatencyTooLong(u64),
    /// `latencyMs` on another effect.
    #[error("latencyMs only goes with the latency effect")]
    StrayLatency,
}

/// The call a hook asks about.
#[derive(Clone, Copy, Debug)]
pub struct Target<'a> {
    /// Its universe (`None` where the service has none: the bus).
    pub universe: Option<u64>,
    /// Its data store, structure or topic.
    pub store: &'a str,
    /// Its key (`None` for listings and queues).
    pub key: Option<&'a str>,
}

impl<'a> Target<'a> {
    /// A call on `key` of `store` in `universe`.
    pub fn new(universe: u64, store: &'a str, key: Option<&'a str>) -> Self {
        Target {
            universe: Some(universe),
            store,
            key,
        }
    }
}

#[derive(Debug)]
struct Rule {
    id: String,
    spec: FaultSpec,
    operations: Vec<Operation>,
    effect: Effect,
    fired: u64,
    rng: SmallRng,
}

impl Rule {
    fn matches(&self, op: Operation, t: &Target<'_>) -> bool {
        let m: &FaultMatch = &self.spec.matches;
        (self.operations.is_empty() || self.operations.contains(&op))
            && m.universe.is_none_or(|u| t.universe == Some(u))
            && m.data_store.as_deref().is_none_or(|s| s == t.store)
            && m.key.as_deref().is_none_or(|k| t.key == Some(k))
            && self.spec.times.is_none_or(|n| self.fired < n)
    }

    fn info(&self) -> FaultInfo {
        FaultInfo {
            id: self.id.clone(),
            matches: self.spec.matches.clone(),
            effect: self.spec.effect.clone(),
            times: self.spec.times,
            probability: self.spec.probability,
            latency_ms: self.spec.latency_ms,
            fired: self.fired,
            remaining: self.spec.times.map(|n| n.saturating_sub(self.fired)),
        }
    }
}

#[derive(Debug, Default)]
struct Rules {
    rules: Vec<Rule>,
    next: u64,
}

/// The fault rules of one server; clones share them.
#[derive(Clone, Debug, Default)]
pub struct FaultPlan {
    rules: Arc<Mutex<Rules>>,
    armed: Arc<AtomicUsize>,
    seed: u64,
    metrics: crate::metrics::Metrics,
}

fn effect_of(spec: &FaultSpec) -> Result<Effect, FaultSpecError> {
    let effect = match spec.effect.as_str() {
        "error" => Effect::Error,
        "ambiguous" => Effect::Ambiguous,
        "throttle" => Effect::Throttle,
        "latency" => {
            let ms = spec.latency_ms.ok_or(FaultSpecError::MissingLatency)?;
            if ms > MAX_LATENCY_MS {
                return Err(FaultSpecError::LatencyTooLong(ms));
            }
            return Ok(Effect::Latency(Duration::from_millis(ms)));
        }
        other => return Err(FaultSpecError::UnknownEffect(other.to_owned())),
    };
    if spec.latency_ms.is_some() {
        return Err(FaultSpecError::StrayLatency);
    }
    Ok(effect)
}

fn operations_of(spec: &FaultSpec) -> Result<Vec<Operation>, FaultSpecError> {
    spec.matches
        .operations
        .iter()
        .map(|name| {
            Operation::parse(name).ok_or_else(|| {
                let all: Vec<_> = Operation::ALL.iter().map(|o| o.name()).collect();
                FaultSpecError::UnknownOperation(name.clone(), all.join(", "))
            })
        })
        .collect()
}

impl FaultPlan {
    /// An empty plan whose probabilities draw from `seed`.
    pub fn with_seed(seed: u64) -> Self {
        FaultPlan {
            seed,
            ..FaultPlan::default()
        }
    }

    /// This plan counting its fires in `metrics` (set before cloning).
    #[must_use]
    pub fn with_metrics(mut self, metrics: crate::metrics::Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Validates `spec` and adds it last; returns it with its id.
    pub fn add(&self, spec: FaultSpec) -> Result<FaultInfo, FaultSpecError> {
        let effect = effect_of(&spec)?;
        let operations = operations_of(&spec)?;
        if let Some(p) = spec.probability {
            if !(0.0..=1.0).contains(&p) {
                return Err(FaultSpecError::Probability(p.to_string()));
            }
        }
        let mut rules = self.rules.lock();
        rules.next += 1;
        let n = rules.next;
        let rule = Rule {
            id: format!("fault-{n}"),
            spec,
            operations,
            effect,
            fired: 0,
            rng: SmallRng::seed_from_u64(self.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
        };
        let info = rule.info();
        rules.rules.push(rule);
        self.armed.store(rules.rules.len(), Ordering::SeqCst);
        Ok(info)
    }

    /// Every rule, in order, with its counters.
    pub fn list(&self) -> Vec<FaultInfo> {
        self.rules.lock().rules.iter().map(Rule::info).collect()
    }

    /// Removes rule `id`; false when there is none.
    pub fn remove(&self, id: &str) -> bool {
        let mut rules = self.rules.lock();
        let before = rules.rules.len();
        rules.rules.retain(|r| r.id != id);
        self.armed.store(rules.rules.len(), Ordering::SeqCst);
        rules.rules.len() != before
    }

    /// Removes every rule.
    pub fn clear(&self) {
        let mut rules = self.rules.lock();
        rules.rules.clear();
        self.armed.store(0, Ordering::SeqCst);
    }

    /// The effect on a call of `op` on `target`, counting the rule that
    /// fires (with its id).
    pub fn check(&self, op: Operation, target: &Target<'_>) -> Option<(String, Effect)> {
        if self.armed.load(Ordering::SeqCst) == 0 {
            return None;
        }
        let mut rules = self.rules.lock();
        for rule in rules.rules.iter_mut() {
            if !rule.matches(op, target) {
                continue;
            }
            if let Some(p) = rule.spec.probability {
                if rule.rng.random::<f64>() >= p {
                    continue;
                }
            }
            rule.fired += 1;
            let effect = match rule.effect {
                Effect::Error => "error",
                Effect::Ambiguous => "ambiguous",
                Effect::Throttle => "throttle",
                Effect::Latency(_) => "latency",
            };
            self.metrics.fault(op.name(), effect);
            return Some((rule.id.clone(), rule.effect));
        }
        None
    }

    /// Runs `call` (a call of `op` on `target`) under the plan: the one
    /// way a hook applies an effect.
    pub async fn apply<T, E, F>(&self, op: Operation, target: Target<'_>, call: F) -> Result<T, E>
    where
        F: Future<Output = Result<T, E>>,
        E: From<Injected>,
    {
        let Some((fault, effect)) = self.check(op, &target) else {
            return call.await;
        };
        let injected = |kind| {
            E::from(Injected {
                fault: fault.clone(),
                operation: op,
                kind,
            })
        };
        match effect {
            Effect::Latency(d) => {
                tokio::time::sleep(d).await;
                call.await
            }
            Effect::Error => Err(injected(InjectedKind::Failure)),
            Effect::Throttle => Err(injected(InjectedKind::Throttled)),
            Effect::Ambiguous if op.writes() => {
                call.await?;
                Err(injected(InjectedKind::Failure))
            }
            Effect::Ambiguous => Err(injected(InjectedKind::Failure)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(effect: &str) -> FaultSpec {
        FaultSpec {
            effect: effect.to_owned(),
            ..FaultSpec::default()
        }
    }

    fn t(key: &str) -> Target<'_> {
        Target::new(1, "s", Some(key))
    }

    #[test]
    fn times_limits_fires_and_counters_follow() {
        let plan = FaultPlan::default();
        let info = plan
            .add(FaultSpec {
                times: Some(2),
                ..spec("error")
            })
            .unwrap();
        assert_eq!(info.remaining, Some(2));
        assert!(plan.check(Operation::Get, &t("k")).is_some());
        assert!(plan.check(Operation::Set, &t("k")).is_some());
        assert!(plan.check(Operation::Get, &t("k")).is_none());
        let listed = &plan.list()[0];
        assert_eq!((listed.fired, listed.remaining), (2, Some(0)));
    }

    #[test]
    fn probability_is_seeded() {
        let fires = |seed| {
            let plan = FaultPlan::with_seed(seed);
            plan.add(FaultSpec {
                probability: Some(0.5),
                ..spec("error")
            })
            .unwrap();
            (0..200)
                .map(|_| plan.check(Operation::Get, &t("k")).is_some())
                .collect::<Vec<_>>()
        };
        assert_eq!(fires(7), fires(7));
        let n = fires(7).iter().filter(|f| **f).count();
        assert!((60..140).contains(&n), "{n} of 200");
    }

    #[test]
    fn validation() {
        let plan = FaultPlan::default();
        assert!(matches!(
            plan.add(spec("boom")),
            Err(FaultSpecError::UnknownEffect(_))
        ));
        assert_eq!(
            plan.add(spec("latency")),
            Err(FaultSpecError::MissingLatency)
        );
        let mut s = spec("latency");
        s.latency_ms = Some(MAX_LATENCY_MS + 1);
        assert!(matches!(
            plan.add(s),
            Err(FaultSpecError::LatencyTooLong(_))
        ));
        let mut s = spec("error");
        s.probability = Some(1.5);
        assert!(matches!(plan.add(s), Err(FaultSpecError::Probability(_))));
        let mut s = spec("error");
        s.matches.operations = vec!["sett".into()];
        assert!(matches!(
            plan.add(s),
            Err(FaultSpecError::UnknownOperation(..))
        ));
        assert!(plan.list().is_empty());
    }
}
