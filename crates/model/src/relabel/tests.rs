//! Cases carried over from the behaviour pinned by Prometheus'
//! `model/relabel/relabel_test.go`, written afresh.

use super::*;

fn ls(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs)
}

fn re(p: &str) -> RelabelRegex {
    RelabelRegex::new(p).unwrap()
}

fn cfg(action: Action) -> RelabelConfig {
    RelabelConfig {
        action,
        ..RelabelConfig::default()
    }
}

fn src(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn abc() -> Labels {
    ls(&[("a", "foo"), ("b", "bar"), ("c", "baz")])
}

#[test]
fn defaults_are_prometheus_defaults() {
    let c = RelabelConfig::default();
    assert_eq!(c.action, Action::Replace);
    assert_eq!(c.separator, ";");
    assert_eq!(c.regex.as_str(), "(.*)");
    assert_eq!(c.replacement, "$1");
    assert_eq!(c.modulus, 0);
}

#[test]
fn replace_expands_braced_groups() {
    let c = RelabelConfig {
        source_labels: src(&["a"]),
        regex: re("f(.*)"),
        target_label: "d".into(),
        replacement: "ch${1}-ch${1}".into(),
        ..Default::default()
    };
    assert_eq!(
        process(&abc(), &[c]).unwrap(),
        ls(&[("a", "foo"), ("b", "bar"), ("c", "baz"), ("d", "choo-choo")])
    );
}

#[test]
fn replace_joins_sources_and_chains_steps() {
    let cfgs = [
        RelabelConfig {
            source_labels: src(&["a", "b"]),
            regex: re("f(.*);(.*)r"),
            target_label: "a".into(),
            replacement: "b${1}${2}m".into(),
            ..Default::default()
        },
        RelabelConfig {
            source_labels: src(&["c", "a"]),
            regex: re("(b).*b(.*)ba(.*)"),
            target_label: "d".into(),
            replacement: "$1$2$2$3".into(),
            ..Default::default()
        },
    ];
    assert_eq!(
        process(&abc(), &cfgs).unwrap(),
        ls(&[("a", "boobam"), ("b", "bar"), ("c", "baz"), ("d", "boooom")])
    );
}

#[test]
fn replace_without_match_changes_nothing() {
    let c = RelabelConfig {
        source_labels: src(&["a"]),
        regex: re("f"),
        target_label: "b".into(),
        replacement: "x".into(),
        ..Default::default()
    };
    assert_eq!(process(&abc(), &[c]).unwrap(), abc());
}

#[test]
fn replace_with_empty_result_deletes_target() {
    let c = RelabelConfig {
        source_labels: src(&["a"]),
        regex: re("foo(.*)"),
        target_label: "b".into(),
        ..Default::default()
    };
    assert_eq!(
        process(&abc(), &[c]).unwrap(),
        ls(&[("a", "foo"), ("c", "baz")])
    );
}

#[test]
fn replace_fast_path_sets_constant_from_missing_sources() {
    let c = RelabelConfig {
        source_labels: src(&["missing"]),
        target_label: "env".into(),
        replacement: "prod".into(),
        ..Default::default()
    };
    let out = process(&abc(), &[c]).unwrap();
    assert_eq!(out.get("env"), Some("prod"));
}

#[test]
fn dollar_one_x_names_a_group_called_1x() {
    let mk = |replacement: &str| RelabelConfig {
        source_labels: src(&["a"]),
        regex: re("f(.*)"),
        target_label: "d".into(),
        replacement: replacement.into(),
        ..Default::default()
    };
    // `$1x` refers to a (missing) group named "1x": the result is empty.
    assert_eq!(process(&abc(), &[mk("$1x")]).unwrap().get("d"), None);
    assert_eq!(
        process(&abc(), &[mk("${1}x")]).unwrap().get("d"),
        Some("oox")
    );
    assert_eq!(process(&abc(), &[mk("$$1")]).unwrap().get("d"), Some("$1"));
    assert_eq!(process(&abc(), &[mk("a$")]).unwrap().get("d"), Some("a$"));
    assert_eq!(process(&abc(), &[mk("${1")]).unwrap().get("d"), Some("${1"));
    assert_eq!(process(&abc(), &[mk("$01")]).unwrap().get("d"), None);
}

#[test]
fn named_groups_expand() {
    let c = RelabelConfig {
        source_labels: src(&["a"]),
        regex: re("f(?P<rest>.*)"),
        target_label: "d".into(),
        replacement: "<$rest>".into(),
        ..Default::default()
    };
    assert_eq!(process(&abc(), &[c]).unwrap().get("d"), Some("<oo>"));
}

#[test]
fn target_label_is_expanded() {
    let c = RelabelConfig {
        source_labels: src(&["a"]),
        regex: re("some-([^-]+)-([^,]+)"),
        target_label: "${1}".into(),
        replacement: "${2}".into(),
        ..Default::default()
    };
    let l = ls(&[("a", "some-name-value")]);
    assert_eq!(
        process(&l, &[c]).unwrap(),
        ls(&[("a", "some-name-value"), ("name", "value")])
    );
}

#[test]
fn target_expanding_to_empty_is_skipped() {
    let c = RelabelConfig {
        source_labels: src(&["a"]),
        regex: re("(x?)foo"),
        target_label: "${1}".into(),
        replacement: "v".into(),
        ..Default::default()
    };
    assert_eq!(process(&abc(), &[c]).unwrap(), abc());
}

#[test]
fn keep_and_drop() {
    let keep = RelabelConfig {
        source_labels: src(&["a"]),
        regex: re("f.*"),
        action: Action::Keep,
        ..Default::default()
    };
    assert!(process(&abc(), std::slice::from_ref(&keep)).is_some());
    let drop = RelabelConfig {
        action: Action::Drop,
        ..keep.clone()
    };
    assert!(process(&abc(), &[drop]).is_none());
    // The regex is anchored: "o" matches nothing in "foo" as a whole.
    let keep_partial = RelabelConfig {
        regex: re("o"),
        ..keep
    };
    assert!(process(&abc(), &[keep_partial]).is_none());
}

#[test]
fn missing_source_label_joins_as_empty() {
    let c = RelabelConfig {
        source_labels: src(&["a", "nope"]),
        regex: re("foo;"),
        action: Action::Keep,
        ..Default::default()
    };
    assert!(process(&abc(), &[c]).is_some());
}

#[test]
fn dot_matches_newline() {
    let l = ls(&[("a", "line1\nline2")]);
    let c = RelabelConfig {
        source_labels: src(&["a"]),
        regex: re("line1.*"),
        action: Action::Keep,
        ..Default::default()
    };
    assert!(process(&l, &[c]).is_some());
}

#[test]
fn keepequal_and_dropequal_compare_with_target() {
    let l = ls(&[("a", "foo"), ("b", "foo"), ("c", "baz")]);
    let mk = |action, target: &str| RelabelConfig {
        source_labels: src(&["a"]),
        target_label: target.into(),
        action,
        ..Default::default()
    };
    assert!(process(&l, &[mk(Action::KeepEqual, "b")]).is_some());
    assert!(process(&l, &[mk(Action::KeepEqual, "c")]).is_none());
    assert!(process(&l, &[mk(Action::DropEqual, "b")]).is_none());
    assert!(process(&l, &[mk(Action::DropEqual, "c")]).is_some());
}

#[test]
fn hashmod_uses_md5_low_eight_bytes() {
    let c = RelabelConfig {
        source_labels: src(&["c"]),
        target_label: "d".into(),
        modulus: 1000,
        action: Action::HashMod,
        ..Default::default()
    };
    assert_eq!(process(&abc(), &[c]).unwrap().get("d"), Some("976"));
    let joined = RelabelConfig {
        source_labels: src(&["b", "c"]),
        target_label: "d".into(),
        modulus: 1000,
        action: Action::HashMod,
        ..Default::default()
    };
    assert_eq!(process(&abc(), &[joined]).unwrap().get("d"), Some("82"));
}

#[test]
fn labelmap_copies_matching_names() {
    let c = RelabelConfig {
        regex: re("(b.*)"),
        replacement: "bar_${1}".into(),
        action: Action::LabelMap,
        ..Default::default()
    };
    assert_eq!(
        process(&abc(), &[c]).unwrap(),
        ls(&[("a", "foo"), ("b", "bar"), ("bar_b", "bar"), ("c", "baz")])
    );
    let meta = ls(&[
        ("__meta_my_bar", "aaa"),
        ("__meta_my_baz", "bbb"),
        ("x", "y"),
    ]);
    let c = RelabelConfig {
        regex: re("__meta_(my.*)"),
        replacement: "${1}".into(),
        action: Action::LabelMap,
        ..Default::default()
    };
    assert_eq!(
        process(&meta, &[c]).unwrap(),
        ls(&[
            ("__meta_my_bar", "aaa"),
            ("__meta_my_baz", "bbb"),
            ("my_bar", "aaa"),
            ("my_baz", "bbb"),
            ("x", "y"),
        ])
    );
}

#[test]
fn labeldrop_and_labelkeep() {
    let drop = RelabelConfig {
        regex: re("(b|c)"),
        action: Action::LabelDrop,
        ..Default::default()
    };
    assert_eq!(process(&abc(), &[drop]).unwrap(), ls(&[("a", "foo")]));
    let keep = RelabelConfig {
        regex: re("(b|c)"),
        action: Action::LabelKeep,
        ..Default::default()
    };
    assert_eq!(
        process(&abc(), &[keep]).unwrap(),
        ls(&[("b", "bar"), ("c", "baz")])
    );
}

#[test]
fn lowercase_and_uppercase() {
    let l = ls(&[("foo", "bAr123Foo"), ("bar", "ÄÖß")]);
    let lower = RelabelConfig {
        source_labels: src(&["foo"]),
        target_label: "low".into(),
        ..cfg(Action::Lowercase)
    };
    let upper = RelabelConfig {
        source_labels: src(&["foo"]),
        target_label: "up".into(),
        ..cfg(Action::Uppercase)
    };
    let out = process(&l, &[lower, upper]).unwrap();
    assert_eq!(out.get("low"), Some("bar123foo"));
    assert_eq!(out.get("up"), Some("BAR123FOO"));
}

#[test]
fn utf8_target_labels_are_written() {
    let c = RelabelConfig {
        source_labels: src(&["a"]),
        target_label: "utf-8.label™".into(),
        ..Default::default()
    };
    c.validate().unwrap();
    assert_eq!(
        process(&abc(), &[c]).unwrap().get("utf-8.label™"),
        Some("foo")
    );
}

#[test]
fn process_builder_reuses_the_builder() {
    let cfgs = [RelabelConfig {
        source_labels: src(&["a"]),
        target_label: "z".into(),
        ..Default::default()
    }];
    let mut lb = abc().builder();
    assert!(process_builder(&mut lb, &cfgs));
    assert_eq!(lb.get("z"), Some("foo"));
    assert!(process_builder(&mut lb, &[]));
}

#[test]
fn action_names_parse_case_insensitively() {
    assert_eq!("LabelMap".parse::<Action>().unwrap(), Action::LabelMap);
    assert_eq!(
        "nope".parse::<Action>().unwrap_err().to_string(),
        r#"unknown relabel action "nope""#
    );
}

#[test]
fn invalid_regex_is_an_error() {
    let e = RelabelRegex::new("(").unwrap_err();
    assert!(e
        .to_string()
        .starts_with(r#"invalid regular expression "(""#));
}

#[test]
fn validation_errors_match_prometheus() {
    let err = |c: RelabelConfig| c.validate().unwrap_err().to_string();
    assert_eq!(
        err(cfg(Action::HashMod)),
        "relabel configuration for hashmod requires non-zero modulus"
    );
    assert_eq!(
        err(cfg(Action::Replace)),
        "relabel configuration for replace action requires 'target_label' value"
    );
    assert_eq!(
        err(cfg(Action::Lowercase)),
        "relabel configuration for lowercase action requires 'target_label' value"
    );
    assert_eq!(
        err(RelabelConfig {
            target_label: "x".into(),
            replacement: "y".into(),
            ..cfg(Action::Uppercase)
        }),
        "'replacement' can not be set for uppercase action"
    );
    assert_eq!(
        err(RelabelConfig {
            target_label: "x".into(),
            separator: ",".into(),
            ..cfg(Action::KeepEqual)
        }),
        "keepequal action requires only 'source_labels' and `target_label`, and no other fields"
    );
    assert_eq!(
        err(RelabelConfig {
            source_labels: src(&["a"]),
            ..cfg(Action::LabelDrop)
        }),
        "labeldrop action requires only 'regex', and no other fields"
    );
    assert!(cfg(Action::LabelKeep).validate().is_ok());
    assert!(RelabelConfig {
        target_label: "${1}".into(),
        ..cfg(Action::Replace)
    }
    .validate()
    .is_ok());
}

#[test]
fn legacy_validation_rejects_non_legacy_names() {
    let legacy = NameValidation::Legacy;
    let replace_to = |t: &str| RelabelConfig {
        target_label: t.into(),
        ..cfg(Action::Replace)
    };
    assert_eq!(
        replace_to("foo.bar")
            .validate_with(legacy)
            .unwrap_err()
            .to_string(),
        r#""foo.bar" is invalid 'target_label' for replace action"#
    );
    assert!(replace_to("foo.bar").validate().is_ok());
    assert!(replace_to("${1}_x").validate_with(legacy).is_ok());
    assert!(replace_to("$1x").validate_with(legacy).is_ok());
    assert!(replace_to("${1").validate_with(legacy).is_err());
    assert!(replace_to("0${1}").validate_with(legacy).is_err());
    let labelmap = RelabelConfig {
        replacement: "foo-bar".into(),
        ..cfg(Action::LabelMap)
    };
    assert_eq!(
        labelmap.validate_with(legacy).unwrap_err().to_string(),
        r#""foo-bar" is invalid 'replacement' for labelmap action"#
    );
    assert!(labelmap.validate().is_ok());
}

#[test]
fn legacy_target_template_grammar() {
    let cases = [
        ("-label", false),
        ("label", true),
        ("label${1}", true),
        ("${1}label", true),
        ("${1}", true),
        ("${", false),
        ("$", false),
        ("${}", false),
        ("foo${", false),
        ("$1", true),
        ("asd$2asd", true),
        ("-foo${1}bar-", false),
        ("_${1}_", true),
        ("foo${bar}foo", true),
        ("0${3}", false),
    ];
    for (s, valid) in cases {
        assert_eq!(is_legacy_target_template(s), valid, "{s:?}");
    }
}

#[test]
fn dropped_label_can_be_recreated_then_kept() {
    // Prometheus issue 12283: a labeldrop, a replace writing the dropped
    // name, then a keep on it.
    let l = ls(&[
        ("__meta_kubernetes_pod_container_port_name", "foo"),
        ("__meta_kubernetes_pod_annotation_XXX_metrics_port", "9091"),
    ]);
    let cfgs = [
        RelabelConfig {
            regex: re("^__meta_kubernetes_pod_container_port_name$"),
            ..cfg(Action::LabelDrop)
        },
        RelabelConfig {
            source_labels: src(&["__meta_kubernetes_pod_annotation_XXX_metrics_port"]),
            regex: re("(.+)"),
            replacement: "metrics".into(),
            target_label: "__meta_kubernetes_pod_container_port_name".into(),
            ..cfg(Action::Replace)
        },
        RelabelConfig {
            source_labels: src(&["__meta_kubernetes_pod_container_port_name"]),
            regex: re("^metrics$"),
            ..cfg(Action::Keep)
        },
    ];
    assert_eq!(
        process(&l, &cfgs).unwrap(),
        ls(&[
            ("__meta_kubernetes_pod_annotation_XXX_metrics_port", "9091"),
            ("__meta_kubernetes_pod_container_port_name", "metrics"),
        ])
    );
}

#[test]
fn address_port_rewrite() {
    let l = ls(&[("__address__", "10.1.2.3:80"), ("__meta_port", "9100")]);
    let c = RelabelConfig {
        source_labels: src(&["__address__", "__meta_port"]),
        regex: re(r"(.+?)(\:\d+)?;(\d+)"),
        target_label: "__address__".into(),
        replacement: "$1:$3".into(),
        ..Default::default()
    };
    assert_eq!(
        process(&l, &[c]).unwrap().get("__address__"),
        Some("10.1.2.3:9100")
    );
}
