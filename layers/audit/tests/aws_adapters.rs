//! The AWS adapters against moto_server on loopback: KMS GenerateMac/VerifyMac, a keyring in an
//! SSM SecureString, and checkpoints in an SSM parameter.

use secops_audit::checkpoint::{CheckpointStore, SsmCheckpointStore};
use secops_audit::jsonl::write_event;
use secops_audit::ops::verify_export;
use secops_audit::redact::{CorrelationKey, Destination, Policy, Redactor};
use secops_audit::signer::{load_ssm_keyring, KeyringDocument};
use secops_audit::{
    AuditSink, Checkpoint, Keyring, KmsSigner, MacCheck, MemoryAuditLog, NewEvent, ProblemKind, Signer,
};
use secops_aws::testing::MotoServer;
use secops_aws::{load_sdk_config, AwsSettings};
use serde_json::json;

async fn sdk(moto: &MotoServer) -> aws_config::SdkConfig {
    load_sdk_config(&AwsSettings::for_endpoint(&moto.endpoint, "eu-west-1")).await
}

async fn hmac_key(config: &aws_config::SdkConfig) -> String {
    let out = aws_sdk_kms::Client::new(config)
        .create_key()
        .key_spec(aws_sdk_kms::types::KeySpec::Hmac256)
        .key_usage(aws_sdk_kms::types::KeyUsageType::GenerateVerifyMac)
        .send()
        .await
        .unwrap();
    out.key_metadata().unwrap().key_id().to_owned()
}

async fn export(signer: impl Signer, n: usize) -> Vec<u8> {
    let log = MemoryAuditLog::new(
        signer,
        Redactor::new(Policy::default_for(Destination::Audit), CorrelationKey::new([3; 32])),
    );
    log.append((0..n).map(|i| NewEvent::new("test.kms", "tests", json!({"i": i}))).collect()).await.unwrap();
    let mut out = Vec::new();
    for e in log.events().await {
        write_event(&mut out, &e).unwrap();
    }
    out
}

#[tokio::test]
async fn kms_signs_and_verifies_and_a_rotated_key_still_verifies_when_listed() {
    let moto = MotoServer::start();
    let config = sdk(&moto).await;
    let old_key = hmac_key(&config).await;
    let old = KmsSigner::new(&config, &old_key, &[]).await.unwrap();
    assert!(
        old.active_key_id().starts_with("arn:aws:kms:eu-west-1:"),
        "events record the ARN: {}",
        old.active_key_id()
    );
    let mac = old.sign(b"message").await.unwrap();
    assert_eq!(old.verify(old.active_key_id(), b"message", &mac).await.unwrap(), MacCheck::Valid);
    assert_eq!(old.verify(old.active_key_id(), b"messagf", &mac).await.unwrap(), MacCheck::Invalid);

    let exported = export(old.clone(), 5).await;
    let report = verify_export(&mut exported.as_slice(), "kms.jsonl", &old, None).await.unwrap();
    assert!(report.ok, "{report:#?}");

    // Rotate: a new active key, the old one listed as retired (by bare key id).
    let new_key = hmac_key(&config).await;
    let rotated = KmsSigner::new(&config, &new_key, std::slice::from_ref(&old_key)).await.unwrap();
    let report = verify_export(&mut exported.as_slice(), "kms.jsonl", &rotated, None).await.unwrap();
    assert!(report.ok, "retired but listed: {report:#?}");
    // Not listed any more: every event names an unknown key.
    let forgotten = KmsSigner::new(&config, &new_key, &[]).await.unwrap();
    let report = verify_export(&mut exported.as_slice(), "kms.jsonl", &forgotten, None).await.unwrap();
    assert_eq!(report.problem_count, 5);
    assert!(report.problems.iter().all(|p| p.kind == ProblemKind::UnknownKey));
}

#[tokio::test]
async fn a_kms_key_that_is_not_an_hmac_key_is_refused_with_its_usage() {
    let moto = MotoServer::start();
    let config = sdk(&moto).await;
    let out = aws_sdk_kms::Client::new(&config)
        .create_key()
        .key_usage(aws_sdk_kms::types::KeyUsageType::EncryptDecrypt)
        .send()
        .await
        .unwrap();
    let err = KmsSigner::new(&config, out.key_metadata().unwrap().key_id(), &[]).await.unwrap_err().to_string();
    assert!(err.contains("ENCRYPT_DECRYPT") && err.contains("HMAC_256"), "{err}");
    let err = KmsSigner::new(&config, "alias/does-not-exist", &[]).await.unwrap_err().to_string();
    assert!(err.contains("kms:DescribeKey"), "{err}");
}

#[tokio::test]
async fn a_keyring_in_an_ssm_secure_string_and_checkpoints_in_an_ssm_parameter() {
    let moto = MotoServer::start();
    let config = sdk(&moto).await;
    let (ring, doc): (Keyring, KeyringDocument) = Keyring::generate("ssm-key").unwrap();
    let ssm = aws_sdk_ssm::Client::new(&config);
    ssm.put_parameter()
        .name("/secops/audit/keys")
        .value(serde_json::to_string(&doc).unwrap())
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let loaded = load_ssm_keyring(&config, "/secops/audit/keys").await.unwrap();
    let mac = ring.mac_with_active(b"m");
    assert_eq!(loaded.check("ssm-key", b"m", &mac), MacCheck::Valid);
    let err = load_ssm_keyring(&config, "/secops/audit/missing").await.unwrap_err().to_string();
    assert!(err.contains("ssm:GetParameter") && err.contains("ParameterNotFound"), "{err}");

    let store = SsmCheckpointStore::new(&config, "/secops/audit/checkpoint");
    assert_eq!(store.latest().await.unwrap(), None);
    let cp = Checkpoint::sign(&loaded, "main", 7, &"cd".repeat(32)).await.unwrap();
    store.publish(&cp).await.unwrap();
    let cp2 = Checkpoint::sign(&loaded, "main", 9, &"ef".repeat(32)).await.unwrap();
    store.publish(&cp2).await.unwrap();
    assert_eq!(store.latest().await.unwrap(), Some(cp2));
}
