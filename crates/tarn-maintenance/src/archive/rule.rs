//! What an archive run selects and how it writes: the mode, the age rule's durations, and the
//! storage class. Pure parsing and checking; nothing here touches a store.

use serde::{Serialize, Serializer};

/// What archiving does to the files it selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArchiveMode {
    /// The files move to the archive and stay in the table under their archive URI (absolute
    /// paths, `dataChange = false`): every reader that resolves absolute paths reads the same
    /// rows in every version.
    Tier,
    /// The files leave the live table (`dataChange = true` removes) and are recorded in its
    /// archive manifest (the `tarn.archive` domain), from which `restore-archive` brings them
    /// back.
    Detach,
}

impl ArchiveMode {
    /// The name the CLI and the commit's parameters use: `tier`, `detach`.
    pub fn as_str(self) -> &'static str {
        match self {
            ArchiveMode::Tier => "tier",
            ArchiveMode::Detach => "detach",
        }
    }
}

impl std::str::FromStr for ArchiveMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "tier" => Ok(ArchiveMode::Tier),
            "detach" => Ok(ArchiveMode::Detach),
            other => Err(format!(
                "unknown archive mode {other:?}: expected tier or detach"
            )),
        }
    }
}

/// A length of time as the command line writes it: a whole number and a unit (`0h`, `36h`,
/// `7d`, `90d`; also `ms`, `s`, `m`, `w`), as every tarn duration parses
/// (`tarn::protocol::retention::parse_duration_ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Age {
    ms: i64,
}

const HOUR_MS: i64 = 3_600_000;

impl Age {
    /// An age of `hours` hours.
    pub fn from_hours(hours: u32) -> Self {
        Self {
            ms: i64::from(hours) * HOUR_MS,
        }
    }

    /// Parses a duration. Errors name the text and the accepted forms.
    pub fn parse(text: &str) -> Result<Self, String> {
        let ms = tarn::protocol::retention::parse_duration_ms(text)
            .map_err(|reason| format!("invalid duration: {reason}"))?;
        Ok(Self { ms })
    }

    /// The age in milliseconds.
    pub fn as_millis(self) -> i64 {
        self.ms
    }
}

impl std::fmt::Display for Age {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const UNITS: [(i64, &str); 5] = [
            (24 * HOUR_MS, "d"),
            (HOUR_MS, "h"),
            (60_000, "m"),
            (1000, "s"),
            (1, "ms"),
        ];
        if self.ms == 0 {
            return f.write_str("0h");
        }
        let (size, unit) = UNITS
            .into_iter()
            .find(|(size, _)| self.ms % size == 0)
            .unwrap_or((1, "ms"));
        write!(f, "{}{unit}", self.ms / size)
    }
}

impl Serialize for Age {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Storage classes the archive accepts, per store kind, in the spelling the store expects.
/// Classes whose objects cannot be read without a restore request first (S3 `GLACIER` and
/// `DEEP_ARCHIVE`, Azure `Archive`) are refused: a tiered table would fail to read, and a
/// detached file could not be brought back without a manual step tarn cannot see.
const S3_CLASSES: &[&str] = &[
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER_IR",
    "EXPRESS_ONEZONE",
];
const S3_OFFLINE: &[&str] = &["GLACIER", "DEEP_ARCHIVE"];
const GCS_CLASSES: &[&str] = &["STANDARD", "NEARLINE", "COLDLINE", "ARCHIVE"];
const AZURE_CLASSES: &[&str] = &["Hot", "Cool", "Cold"];
const AZURE_OFFLINE: &[&str] = &["Archive"];

/// Checks a storage class for a store of `scheme` and returns it in the store's spelling
/// (`glacier_ir` -> `GLACIER_IR`, `cool` -> `Cool`). Errors say why: a local file system has
/// no storage classes; an unknown class (with the list of known ones); a class whose objects
/// cannot be read back without a restore request.
pub fn check_storage_class(scheme: &str, class: &str) -> Result<String, String> {
    let (known, offline, store): (&[&str], &[&str], &str) = match scheme {
        "s3" | "s3a" => (S3_CLASSES, S3_OFFLINE, "S3"),
        "gs" => (GCS_CLASSES, &[], "GCS"),
        "az" | "azure" | "abfs" | "abfss" | "adl" => (AZURE_CLASSES, AZURE_OFFLINE, "Azure"),
        // The in-memory store keeps any attribute (tests, `memory://`).
        "memory" => return Ok(class.to_owned()),
        "file" => {
            return Err(format!(
                "storage class {class:?}: a local file system has no storage classes; archive to \
                 S3, GCS or Azure to use one, or leave --storage-class out"
            ));
        }
        other => {
            return Err(format!(
                "storage class {class:?}: {other}:// stores have no storage classes tarn can set"
            ));
        }
    };
    if let Some(found) = offline.iter().find(|c| c.eq_ignore_ascii_case(class)) {
        return Err(format!(
            "storage class {found} ({store}): its objects cannot be read without a restore request \
             first, so neither a tiered table nor restore-archive could read them; use an online \
             class ({})",
            known.join(", ")
        ));
    }
    known
        .iter()
        .find(|c| c.eq_ignore_ascii_case(class))
        .map(|c| (*c).to_owned())
        .ok_or_else(|| {
            format!(
                "unknown {store} storage class {class:?}; known classes: {}",
                known.join(", ")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_parse_in_hours_and_days() {
        assert_eq!(Age::parse("0h").unwrap().as_millis(), 0);
        assert_eq!(Age::parse("36h").unwrap().as_millis(), 36 * HOUR_MS);
        assert_eq!(Age::parse("7d").unwrap().as_millis(), 7 * 24 * HOUR_MS);
        assert_eq!(Age::parse("90d").unwrap().to_string(), "90d");
        assert_eq!(Age::parse("48h").unwrap().to_string(), "2d");
        assert_eq!(Age::parse("0d").unwrap().to_string(), "0h");
        assert_eq!(Age::parse("90m").unwrap().to_string(), "90m");
        assert_eq!(Age::from_hours(36).to_string(), "36h");
        for bad in [
            "",
            "d",
            "90",
            "-1d",
            "1.5d",
            "7y",
            "d7",
            "99999999999999999d",
        ] {
            let err = Age::parse(bad).unwrap_err();
            assert!(err.contains("invalid duration"), "{bad}: {err}");
        }
    }

    #[test]
    fn storage_classes_are_checked_per_store() {
        assert_eq!(
            check_storage_class("s3", "glacier_ir").unwrap(),
            "GLACIER_IR"
        );
        assert_eq!(check_storage_class("gs", "coldline").unwrap(), "COLDLINE");
        assert_eq!(check_storage_class("abfss", "cool").unwrap(), "Cool");
        assert_eq!(check_storage_class("memory", "ANY").unwrap(), "ANY");
        let err = check_storage_class("s3", "GLACIER").unwrap_err();
        assert!(err.contains("restore request"), "{err}");
        let err = check_storage_class("az", "archive").unwrap_err();
        assert!(err.contains("restore request"), "{err}");
        let err = check_storage_class("s3", "COLDLINE").unwrap_err();
        assert!(err.contains("unknown S3 storage class"), "{err}");
        let err = check_storage_class("file", "GLACIER_IR").unwrap_err();
        assert!(err.contains("local file system"), "{err}");
    }

    #[test]
    fn modes_parse() {
        assert_eq!("tier".parse::<ArchiveMode>().unwrap(), ArchiveMode::Tier);
        assert_eq!(
            "detach".parse::<ArchiveMode>().unwrap(),
            ArchiveMode::Detach
        );
        assert!("move".parse::<ArchiveMode>().is_err());
    }
}
