//! The AWS managed policies (`arn:aws:iam::aws:policy/...`): a catalogue committed as gzipped
//! JSON (`scripts/iam-managed-policies` writes it from the snapshot of AWS's list that moto
//! keeps, Apache License 2.0, https://github.com/getmoto/moto), decoded once, on first use.

use crate::aws::Timestamp;
use serde::Deserialize;
use std::collections::HashMap;
use std::io::Read;
use std::sync::OnceLock;

const CATALOGUE: &[u8] = include_bytes!("aws-managed-policies.json.gz");

#[derive(Deserialize)]
pub(super) struct Managed {
    pub name: String,
    pub path: String,
    pub version: String,
    created: i64,
    updated: i64,
    pub document: String,
}

impl Managed {
    pub fn arn(&self) -> String {
        format!("arn:aws:iam::aws:policy{}{}", self.path, self.name)
    }

    pub fn created(&self) -> Timestamp {
        Timestamp(aws_smithy_types::DateTime::from_secs(self.created))
    }

    pub fn updated(&self) -> Timestamp {
        Timestamp(aws_smithy_types::DateTime::from_secs(self.updated))
    }
}

/// Every AWS managed policy by ARN (empty if the catalogue could not be read, which a test
/// guards against).
pub(super) fn catalogue() -> &'static HashMap<String, Managed> {
    static CATALOGUE_BY_ARN: OnceLock<HashMap<String, Managed>> = OnceLock::new();
    CATALOGUE_BY_ARN.get_or_init(|| {
        let mut json = String::new();
        let decoded = flate2::read::GzDecoder::new(CATALOGUE).read_to_string(&mut json);
        let policies: Vec<Managed> = match decoded {
            Ok(_) => serde_json::from_str(&json).unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        policies.into_iter().map(|p| (p.arn(), p)).collect()
    })
}
