use super::*;

fn event(
    profile: &str,
    kind: &str,
    op: &str,
    access: &[&str],
    object: serde_json::Value,
) -> String {
    serde_json::json!({
        "time": "2026-11-26T15:47:13.518109Z", "pid": 104, "tid": 104, "ppid": 1,
        "comm": "app", "exe": profile, "argv0": profile, "profile": profile,
        "op": op, "kind": kind, "access": access, "decision": "complain",
        "scope": null, "object": object,
    })
    .to_string()
}

#[test]
fn star_matches_within_a_name() {
    assert!(star_match("*.log", "access.log"));
    assert!(star_match("nginx.*.pid", "nginx.12.pid"));
    assert!(!star_match("nginx.*.pid", "nginx.12.pi"));
    assert!(star_match("*", "x"));
    assert!(!star_match("a*", "b"));
}

#[test]
fn a_learned_policy_compiles_with_no_warning_and_is_stable() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    for dir in ["srv/www", "var/lib/app/cache", "etc/app", "usr/bin"] {
        std::fs::create_dir_all(r.join(dir)).unwrap();
    }
    std::fs::write(r.join("srv/www/index.html"), "hi").unwrap();
    std::fs::write(r.join("etc/app/app.conf"), "").unwrap();
    std::fs::write(r.join("var/lib/app/cache/old"), "").unwrap();
    std::fs::write(r.join("usr/bin/peer"), "").unwrap();
    let p = "/usr/bin/app";
    let lines = [
        event(
            p,
            "file",
            "open",
            &["read"],
            serde_json::json!({"path": "/srv/www/index.html"}),
        ),
        event(
            p,
            "file",
            "permission",
            &["read"],
            serde_json::json!({"path": "/srv/www/index.html"}),
        ),
        event(
            p,
            "file",
            "getattr",
            &["getattr"],
            serde_json::json!({"path": "/srv/www/index.html"}),
        ),
        event(
            p,
            "file",
            "open",
            &["read"],
            serde_json::json!({"path": "/etc/app/app.conf"}),
        ),
        // a temporary file: the directory's write, the new file, its removal
        event(
            p,
            "file",
            "create",
            &["write"],
            serde_json::json!({"path": "/var/lib/app/cache", "entry": "/var/lib/app/cache/tmp.aZ3kQx"}),
        ),
        event(
            p,
            "file",
            "create",
            &["read", "write"],
            serde_json::json!({"path": "/var/lib/app/cache/tmp.aZ3kQx"}),
        ),
        event(
            p,
            "file",
            "unlink",
            &["rm"],
            serde_json::json!({"path": "/var/lib/app/cache/tmp.aZ3kQx"}),
        ),
        event(
            p,
            "file",
            "open",
            &["read"],
            serde_json::json!({"path": "/var/lib/app/cache/old"}),
        ),
        // gone since, and not in a directory the program changes
        event(
            p,
            "file",
            "open",
            &["read"],
            serde_json::json!({"path": "/srv/www/gone.html"}),
        ),
        // created where nothing may be widened
        event(
            p,
            "file",
            "create",
            &["write"],
            serde_json::json!({"path": "/etc/app/app.conf.new"}),
        ),
        event(
            p,
            "net",
            "connect",
            &["connect"],
            serde_json::json!({"family": "inet"}),
        ),
        event(
            p,
            "net",
            "socket_create",
            &["create"],
            serde_json::json!({"family": "inet"}),
        ),
        event(
            p,
            "signal",
            "signal",
            &["sigcheck"],
            serde_json::json!({"peer_pid": 9, "exe": "/usr/bin/peer"}),
        ),
        event(
            p,
            "signal",
            "signal",
            &["sigkill"],
            serde_json::json!({"peer_pid": 9, "exe": p}),
        ),
        event(
            p,
            "cap",
            "capable",
            &["use"],
            serde_json::json!({"capability": "net_bind_service"}),
        ),
        event(
            p,
            "cap",
            "capable",
            &["use"],
            serde_json::json!({"capability": "setuid"}),
        ),
        "not an event".to_string(),
        event(
            p,
            "file",
            "open",
            &["read"],
            serde_json::json!({"path": "/srv/www/index.html"}),
        )
        .replace("complain", "audit"),
    ];
    let mut learner = Learner::default();
    for line in &lines {
        learner.line(line);
    }
    let options = LearnOptions {
        root: r.to_path_buf(),
        ..LearnOptions::default()
    };
    let (rules, report) = learner.rules(&options);
    let policy = write_policy(&rules, &options);
    insta::assert_snapshot!(policy, @r###"
    #![profile "/usr/bin/app"]
    fs("/etc/app/app.conf", read)
    fs("/srv/www/index.html", read|getattr)
    fs("/var/lib/app/cache", write)
    fs("/var/lib/app/cache/**", read|write|rm)
    signal("/usr/bin/peer", sigcheck)
    signal(self, sigkill)
    net(inet, connect|create)
    cap(net_bind_service|setuid)
    "###);
    assert_eq!(report.events, 17);
    assert_eq!(report.lines_not_events, 1);
    assert_eq!(
        report.widened,
        ["fs(\"/var/lib/app/cache/**\"): observed 2 files, the rule covers 1 on this machine"]
    );
    assert!(
        report
            .skipped
            .iter()
            .any(|s| s.starts_with("/etc/app/app.conf.new: created or replaced in /etc/app")),
        "{report:?}"
    );
    assert!(
        report
            .skipped
            .iter()
            .any(|s| s.starts_with("/srv/www/gone.html: not on this machine")),
        "{report:?}"
    );

    // The compiler agrees: no error, no warning, with the target's paths.
    let root = r.to_path_buf();
    let exists = move |path: &str| on_root(&root, path).exists();
    let analysis = analyze(
        &policy,
        &Options {
            check_paths: true,
            path_exists: &exists,
            ..Options::default()
        },
    );
    assert!(
        analysis.diagnostics.is_empty(),
        "{:?}",
        analysis.diagnostics
    );

    // The same events in another order give the same bytes.
    let mut again = Learner::default();
    for line in lines.iter().rev() {
        again.line(line);
    }
    assert_eq!(write_policy(&again.rules(&options).0, &options), policy);

    // Against itself, nothing is new; against less, only the rest.
    let analysis = analyze(
        &policy,
        &Options {
            check_paths: false,
            ..Options::default()
        },
    );
    assert!(not_in(rules.clone(), &analysis.policy).is_empty());
    let partial = "#![profile \"/usr/bin/app\"]\nfs(\"/srv/www/**\", read|getattr)\ncap(setuid)\n#[deny] fs(\"/etc/app/app.conf\", read)\n";
    let analysis = analyze(
        partial,
        &Options {
            check_paths: false,
            ..Options::default()
        },
    );
    let new: Vec<String> = not_in(rules, &analysis.policy)
        .into_iter()
        .map(|r| r.rule)
        .collect();
    assert_eq!(
        new,
        [
            "fs(\"/var/lib/app/cache\", write)",
            "fs(\"/var/lib/app/cache/**\", read|write|rm)",
            "signal(\"/usr/bin/peer\", sigcheck)",
            "signal(self, sigkill)",
            "net(inet, connect|create)",
            "cap(net_bind_service|setuid)",
        ]
    );
}

#[test]
fn volatile_names_outside_changed_directories_become_patterns() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    std::fs::create_dir_all(r.join("srv/data")).unwrap();
    std::fs::write(r.join("srv/data/report-20261126.csv"), "").unwrap();
    std::fs::write(r.join("srv/data/report-20261125.csv"), "").unwrap();
    let p = "/usr/bin/app";
    let mut learner = Learner::default();
    learner.line(&event(
        p,
        "file",
        "open",
        &["read"],
        serde_json::json!({"path": "/srv/data/report-20261126.csv"}),
    ));
    let options = LearnOptions {
        root: r.to_path_buf(),
        ..LearnOptions::default()
    };
    let (rules, report) = learner.rules(&options);
    assert_eq!(rules[0].rule, "fs(\"/srv/data/report-*.csv\", read)");
    assert_eq!(
        report.widened,
        ["fs(\"/srv/data/report-*.csv\"): observed 1 file, the rule covers 2 on this machine"]
    );
}

#[test]
fn a_pattern_at_the_root_covers_what_it_matches() {
    let policy = "#![profile \"/usr/bin/app\"]\nfs(\"/data-*\", read)\n";
    let analysis = analyze(
        policy,
        &Options {
            check_paths: false,
            ..Options::default()
        },
    );
    let rule = |path: &str| Learned {
        profile: "/usr/bin/app".into(),
        scope: None,
        order: 0,
        rule: format!("fs(\"{path}\", read)"),
        events: 1,
        first: "app[1]".into(),
    };
    let new = not_in(vec![rule("/data-1"), rule("/other")], &analysis.policy);
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].rule, "fs(\"/other\", read)");
}

/// An event from inside `functions` (innermost first).
fn from_inside(line: String, functions: &[&str]) -> String {
    let mut event: serde_json::Value = serde_json::from_str(&line).unwrap();
    event["functions"] = serde_json::json!(functions);
    event.to_string()
}

#[test]
fn a_secret_used_inside_one_function_is_scoped_to_it_and_the_rest_suggested() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    std::fs::create_dir_all(r.join("etc/app/tls")).unwrap();
    std::fs::create_dir_all(r.join("srv/www")).unwrap();
    std::fs::write(r.join("etc/app/tls/server.key"), "k").unwrap();
    std::fs::write(r.join("srv/www/index.html"), "hi").unwrap();
    let p = "/usr/bin/app";
    let key = |functions: &[&str]| {
        from_inside(
            event(
                p,
                "file",
                "open",
                &["read"],
                serde_json::json!({"path": "/etc/app/tls/server.key"}),
            ),
            functions,
        )
    };
    let page = |functions: &[&str]| {
        from_inside(
            event(
                p,
                "file",
                "open",
                &["read"],
                serde_json::json!({"path": "/srv/www/index.html"}),
            ),
            functions,
        )
    };
    let mut learner = Learner::default();
    for line in [
        key(&["load_key", "tls_init", "main"]),
        key(&["tls_init", "reload", "main"]),
        page(&["serve", "worker", "main"]),
        page(&["serve", "worker", "main"]),
        // An event whose stack named nothing: `main` stays everywhere.
        event(
            p,
            "file",
            "open",
            &["read"],
            serde_json::json!({"path": "/srv/www"}),
        ),
    ] {
        learner.line(&line);
    }
    let options = LearnOptions {
        root: r.to_path_buf(),
        ..LearnOptions::default()
    };
    let (rules, report) = learner.rules(&options);
    let policy = write_policy(&rules, &options);
    assert_eq!(
        policy,
        "#![profile \"/usr/bin/app\"]\nfs(\"/srv/www\", read)\nfs(\"/srv/www/index.html\", read)\n#[func tls_init] {\n    fs(\"/etc/app/tls/server.key\", read)\n}\n"
    );
    assert_eq!(
        report.suggested,
        vec!["#[func serve] fs(\"/srv/www/index.html\", read): 2 events, all inside serve"]
    );
    let all = LearnOptions {
        scope: Scoping::All,
        ..options.clone()
    };
    let (rules, report) = learner.rules(&all);
    assert!(write_policy(&rules, &all).contains("#[func serve]"));
    assert!(report.suggested.is_empty());
    let none = LearnOptions {
        scope: Scoping::None,
        ..options
    };
    let (rules, report) = learner.rules(&none);
    assert!(!write_policy(&rules, &none).contains("#[func"));
    assert_eq!(report.suggested.len(), 2);
}

#[test]
fn a_dynamic_programs_loader_and_libraries_are_one_include() {
    // /usr/bin/env of this machine: dynamic, with libc.
    let p = "/usr/bin/env";
    let runtime = runtime_of(p, &LearnOptions::default());
    let libc = runtime
        .iter()
        .find(|f| f.contains("/libc.so"))
        .expect("the C library among env's runtime")
        .clone();
    let mut learner = Learner::default();
    for (path, access) in [
        (libc.as_str(), &["read", "exec"][..]),
        ("/etc/ld.so.cache", &["read", "getattr"][..]),
        ("/etc/hostname", &["read"][..]),
    ] {
        learner.line(&event(
            p,
            "file",
            "mmap",
            access,
            serde_json::json!({ "path": path }),
        ));
    }
    let (rules, _) = learner.rules(&LearnOptions::default());
    let policy = write_policy(&rules, &LearnOptions::default());
    assert_eq!(
        policy,
        "#![profile \"/usr/bin/env\"]\n#![include c_runtime]\nfs(\"/etc/hostname\", read)\n"
    );
    let analysis = crate::analyze(&policy, &Options::default());
    assert!(
        analysis.diagnostics.is_empty(),
        "{:?}",
        analysis.diagnostics
    );
}
