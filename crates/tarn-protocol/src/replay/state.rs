//! Reconciliation of the non-file actions: `protocol`, `metaData`, `txn` and `domainMetadata`.

use std::collections::BTreeMap;

use crate::actions::{Action, DomainMetadata, Metadata, Protocol, Txn};

/// The newest-first reducer of non-file actions (PROTOCOL.md, "Action Reconciliation").
///
/// Feed it the same stream as [`super::FileReplay`]: commits newest first, each commit's actions
/// in reverse line order, then the checkpoint's rows. The first action seen of each kind wins:
/// the newest `protocol`, the newest `metaData`, per `appId` the newest `txn` (whatever its
/// `version`: the protocol allows an application's version to go down), and per `domain` the
/// newest `domainMetadata`, where a `removed = true` action is a tombstone that hides every older
/// action of its domain.
#[derive(Debug, Default, Clone)]
pub struct StateReplay {
    protocol: Option<Protocol>,
    metadata: Option<Metadata>,
    txns: BTreeMap<String, Txn>,
    /// Includes tombstones, which must keep hiding older actions until the end of the replay.
    domains: BTreeMap<String, DomainMetadata>,
}

/// The reconciled non-file state of one table version.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplayedState {
    /// The newest `protocol`; `None` only for a log that has none (not a valid table).
    pub protocol: Option<Protocol>,
    /// The newest `metaData`; `None` only for a log that has none (not a valid table).
    pub metadata: Option<Metadata>,
    /// The newest `txn` of each application, by `appId`.
    pub txns: BTreeMap<String, Txn>,
    /// The newest `domainMetadata` of each domain, by domain name; removed domains are absent.
    pub domain_metadata: BTreeMap<String, DomainMetadata>,
}

impl StateReplay {
    /// A reducer that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Offers a `protocol` action; returns whether it is the newest one (and was kept).
    pub fn observe_protocol(&mut self, protocol: Protocol) -> bool {
        if self.protocol.is_some() {
            return false;
        }
        self.protocol = Some(protocol);
        true
    }

    /// Offers a `metaData` action; returns whether it is the newest one (and was kept).
    pub fn observe_metadata(&mut self, metadata: Metadata) -> bool {
        if self.metadata.is_some() {
            return false;
        }
        self.metadata = Some(metadata);
        true
    }

    /// Offers a `txn` action; returns whether it is the newest of its `appId` (and was kept).
    pub fn observe_txn(&mut self, txn: Txn) -> bool {
        if self.txns.contains_key(&txn.app_id) {
            return false;
        }
        self.txns.insert(txn.app_id.clone(), txn);
        true
    }

    /// Offers a `domainMetadata` action; returns whether it is the newest of its domain (and was
    /// kept, possibly as a tombstone).
    pub fn observe_domain_metadata(&mut self, domain_metadata: DomainMetadata) -> bool {
        if self.domains.contains_key(&domain_metadata.domain) {
            return false;
        }
        self.domains
            .insert(domain_metadata.domain.clone(), domain_metadata);
        true
    }

    /// Offers any action, cloning it only when it is kept; returns whether it was kept. File
    /// actions (`add`, `remove`) belong to [`super::FileReplay`], and `cdc`, `commitInfo`,
    /// `sidecar` and `checkpointMetadata` take no part in reconciliation: all of those are
    /// ignored and return `false`.
    pub fn observe(&mut self, action: &Action) -> bool {
        match action {
            Action::Protocol(protocol) if self.protocol.is_none() => {
                self.observe_protocol(protocol.clone())
            }
            Action::Metadata(metadata) if self.metadata.is_none() => {
                self.observe_metadata(metadata.clone())
            }
            Action::Txn(txn) if !self.txns.contains_key(&txn.app_id) => {
                self.observe_txn(txn.clone())
            }
            Action::DomainMetadata(domain) if !self.domains.contains_key(&domain.domain) => {
                self.observe_domain_metadata(domain.clone())
            }
            _ => false,
        }
    }

    /// Whether both the protocol and the metadata have been found. Once they have, the caller
    /// may stop reading if it needs nothing else; `txns` and domain metadata are only complete
    /// after every commit down to (and including) the checkpoint has been observed.
    pub fn is_complete(&self) -> bool {
        self.protocol.is_some() && self.metadata.is_some()
    }

    /// The newest protocol seen so far.
    pub fn protocol(&self) -> Option<&Protocol> {
        self.protocol.as_ref()
    }

    /// The newest metadata seen so far.
    pub fn metadata(&self) -> Option<&Metadata> {
        self.metadata.as_ref()
    }

    /// The reconciled state, with removed domains dropped.
    pub fn finish(self) -> ReplayedState {
        ReplayedState {
            protocol: self.protocol,
            metadata: self.metadata,
            txns: self.txns,
            domain_metadata: self
                .domains
                .into_iter()
                .filter(|(_, domain)| !domain.removed)
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn protocol(reader: i32) -> Protocol {
        Protocol {
            min_reader_version: reader,
            min_writer_version: 2,
            reader_features: None,
            writer_features: None,
        }
    }

    fn txn(app: &str, version: i64) -> Txn {
        Txn {
            app_id: app.to_owned(),
            version,
            last_updated: None,
        }
    }

    fn domain(name: &str, configuration: &str, removed: bool) -> DomainMetadata {
        DomainMetadata {
            domain: name.to_owned(),
            configuration: configuration.to_owned(),
            removed,
        }
    }

    #[test]
    fn newest_protocol_wins() {
        let mut state = StateReplay::new();
        assert!(state.observe_protocol(protocol(3)));
        assert!(!state.observe_protocol(protocol(1)));
        assert!(!state.observe(&Action::Protocol(protocol(2))));
        assert_eq!(state.protocol(), Some(&protocol(3)));
        assert!(!state.is_complete());
    }

    #[test]
    fn newest_txn_wins_even_when_its_version_is_lower() {
        let mut state = StateReplay::new();
        assert!(state.observe(&Action::Txn(txn("app", 3))));
        assert!(!state.observe(&Action::Txn(txn("app", 9))));
        assert!(state.observe_txn(txn("other", 1)));
        let done = state.finish();
        assert_eq!(done.txns.len(), 2);
        assert_eq!(done.txns["app"].version, 3);
    }

    #[test]
    fn domain_tombstone_hides_older_actions() {
        let mut state = StateReplay::new();
        assert!(state.observe_domain_metadata(domain("gone", "", true)));
        assert!(!state.observe_domain_metadata(domain("gone", "{\"a\":1}", false)));
        assert!(state.observe_domain_metadata(domain("kept", "new", false)));
        assert!(!state.observe_domain_metadata(domain("kept", "old", false)));
        let done = state.finish();
        assert_eq!(done.domain_metadata.len(), 1);
        assert_eq!(done.domain_metadata["kept"].configuration, "new");
    }
}
