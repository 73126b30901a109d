//! The `server` binary's command line, run as an operator would: help,
//! refusals of what it does not know, and the maintenance commands on a
//! fresh SQLite database.

use std::process::{Command, Output};

fn server(args: &[&str], database: &std::path::Path) -> Output {
    server_with(args, database, &[])
}

fn server_with(args: &[&str], database: &std::path::Path, env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_server"))
        .args(args)
        .env_remove("LOG_FORMAT")
        .envs(env.iter().copied())
        .env("DATABASE_URL", format!("sqlite:{}", database.display()))
        .env_remove("DEMO_DATA")
        .env_remove("SECRET_KEY")
        .env("SECRET_KEY_FILE", database.with_extension("key"))
        .output()
        .expect("the server binary runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn the_command_line_helps_refuses_what_it_does_not_know_and_maintains_the_database() {
    let dir = std::env::temp_dir().join(format!("notif-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("cli.db");

    // Help: every command, and every environment variable with its default.
    let help = server(&["--help"], &db);
    assert!(help.status.success(), "{}", text(&help));
    let out = text(&help);
    for word in [
        "provider-add",
        "user-reset-password",
        "backup",
        "prune",
        "Environment variables:",
        "DATABASE_URL",
        "AUDIT_RETENTION_DAYS",
        "[default: 730]",
    ] {
        assert!(out.contains(word), "{word} in:\n{out}");
    }
    let sub = server(&["provider-add", "--help"], &db);
    assert!(text(&sub).contains("--rate <PER_MINUTE>"), "{}", text(&sub));

    // A misspelt flag or an unknown command: status 2, named, nothing opened.
    let wrong = server(
        &[
            "provider-add",
            "--kind",
            "fonnte",
            "--name",
            "F",
            "--rate-limit",
            "5",
        ],
        &db,
    );
    assert_eq!(wrong.status.code(), Some(2));
    assert!(text(&wrong).contains("'--rate-limit'"), "{}", text(&wrong));
    let unknown = server(&["frobnicate"], &db);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(!db.exists(), "no database made by a refused command");

    // The maintenance commands on a fresh database.
    let migrated = server(&["migrate"], &db);
    assert!(migrated.status.success(), "{}", text(&migrated));
    assert!(text(&migrated).contains("migrations applied"));
    let key = server(&["create-api-key", "Tiket"], &db);
    assert!(key.status.success(), "{}", text(&key));
    let listed = server(&["api-key-list"], &db);
    assert!(text(&listed).contains("Tiket"), "{}", text(&listed));
    assert!(text(&listed).contains("active"), "{}", text(&listed));
    let revoked = server(&["revoke-api-key", "1"], &db);
    assert!(revoked.status.success(), "{}", text(&revoked));
    assert!(text(&server(&["api-key-list"], &db)).contains("revoked"));
    let pruned = server(&["prune"], &db);
    assert!(pruned.status.success(), "{}", text(&pruned));
    assert!(
        text(&pruned)
            .contains("pruned: 0 deliveries, 0 events, 0 provider callbacks, 0 audit entries"),
        "{}",
        text(&pruned)
    );
    let added = server(
        &[
            "provider-add",
            "--kind",
            "sandbox",
            "--name",
            "Uji",
            "--channel",
            "sms",
        ],
        &db,
    );
    assert!(added.status.success(), "{}", text(&added));
    // "provider account #2 'Uji' (sandbox) added" (the seed made #1).
    let id = text(&added)
        .split("provider account #")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .unwrap()
        .to_owned();
    let off = server(&["provider-disable", &id], &db);
    assert!(text(&off).contains("'Uji' disabled"), "{}", text(&off));
    let accounts = text(&server(&["provider-list"], &db));
    assert!(
        accounts.contains("Uji") && accounts.contains("false"),
        "{accounts}"
    );
    let missing = server(&["provider-enable", "99"], &db);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing).contains("no provider account #99"),
        "{}",
        text(&missing)
    );

    // Logs as JSON, one object per line; an unknown format is refused.
    let json = server_with(&["provider-enable", "99"], &db, &[("LOG_FORMAT", "json")]);
    assert_eq!(json.status.code(), Some(1));
    let line =
        String::from_utf8_lossy(&json.stdout).to_string() + &String::from_utf8_lossy(&json.stderr);
    let logged: serde_json::Value = line
        .lines()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no JSON line in:\n{line}"));
    assert_eq!(logged["level"], "ERROR", "{logged}");
    assert!(
        logged["fields"]["message"]
            .as_str()
            .unwrap()
            .contains("no provider account #99"),
        "{logged}"
    );
    let xml = server_with(&["migrate"], &db, &[("LOG_FORMAT", "xml")]);
    assert_eq!(xml.status.code(), Some(2));
    assert!(
        text(&xml).contains("LOG_FORMAT must be text or json"),
        "{}",
        text(&xml)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
