//! `credence demo`: demo data so the README can show an order being admitted and
//! refused with curl. Running it again updates the same products and customers and issues
//! new keys.

use credence_domain::Principal;
use credence_domain::Role;
use credence_domain::catalog::{
    AttributeKind, AttributeOption, Locale, Localized, ProductAttribute, ProductDraft,
    TemplateDraft,
};
use credence_domain::credit::Money;
use credence_domain::customers::{CustomerChanges, RefKey};
use credence_domain::field::Field;
use credence_domain::ports::Precondition;
use credence_domain::values::{CurrencyCode, CustomerName};
use credence_http::Services;
use rust_decimal::Decimal;

fn texts(pairs: &[(Locale, &str)]) -> Localized {
    pairs
        .iter()
        .map(|(locale, text)| (*locale, (*text).to_owned()))
        .collect()
}

fn string_attribute(
    code: &str,
    title: &str,
    mandatory: bool,
    min: u32,
    max: u32,
) -> ProductAttribute {
    ProductAttribute {
        code: code.into(),
        kind: AttributeKind::String {
            min_length: Some(min),
            max_length: Some(max),
        },
        is_mandatory: mandatory,
        titles: texts(&[(Locale::En, title)]),
        helps: Localized::new(),
    }
}

/// The three demo products.
fn products(currency: CurrencyCode) -> anyhow::Result<Vec<(&'static str, ProductDraft)>> {
    let price = |minor| Money::from_minor(minor, currency);
    let option = |en: &str, value: &str| AttributeOption {
        titles: texts(&[(Locale::En, en)]),
        value: value.into(),
    };
    Ok(vec![
        (
            "TextCreate",
            ProductDraft {
                titles: texts(&[
                    (Locale::En, "Text creation"),
                    (Locale::De, "Texterstellung"),
                ]),
                descriptions: texts(&[(Locale::En, "A unique text written to your briefing.")]),
                available: true,
                price: price(1500),
                attributes: vec![string_attribute("topic", "Topic", true, 3, 200)],
            },
        ),
        (
            "TextCreateWithKeywords",
            ProductDraft {
                titles: texts(&[(Locale::En, "Text creation with keywords")]),
                descriptions: texts(&[(Locale::En, "A unique text that uses your keywords.")]),
                available: true,
                price: price(2500),
                attributes: vec![
                    string_attribute("topic", "Topic", true, 3, 200),
                    string_attribute("keywords", "Keywords", true, 3, 500),
                    ProductAttribute {
                        code: "words".into(),
                        kind: AttributeKind::Integer,
                        is_mandatory: false,
                        titles: texts(&[(Locale::En, "Number of words")]),
                        helps: Localized::new(),
                    },
                ],
            },
        ),
        (
            "product_research",
            ProductDraft {
                titles: texts(&[(Locale::En, "Product Research")]),
                descriptions: texts(&[(
                    Locale::En,
                    "Identify product details using a Internet search.",
                )]),
                available: true,
                price: price(4000),
                attributes: vec![ProductAttribute {
                    code: "research_language".into(),
                    kind: AttributeKind::Option(vec![
                        option("German", "de"),
                        option("English", "en"),
                    ]),
                    is_mandatory: true,
                    titles: texts(&[(Locale::En, "Research Language")]),
                    helps: texts(&[(
                        Locale::En,
                        "Defines the language to use for creating the research result.",
                    )]),
                }],
            },
        ),
    ])
}

fn customer(
    name: &str,
    credit_limit: i64,
    parent: Option<&str>,
) -> anyhow::Result<CustomerChanges> {
    Ok(CustomerChanges {
        name: Field::Value(CustomerName::new(name)?),
        credit_limit: Field::Value(Decimal::from(credit_limit)),
        parent: parent.map_or(Field::Absent, |p| Field::Value(RefKey::Reference(p.into()))),
        ..CustomerChanges::default()
    })
}

/// Loads the demo data and prints a key for the admin, the reseller and each sub-customer,
/// each on a line of its own: `admin key: `, `reseller key: `, `customer key: ` (DEMO-SHOP-1)
/// and `customer-2 key: ` (DEMO-SHOP-2), then the secret, last. No line holds another's
/// label, so a script finds each key with `sed -n 's/^customer key: //p'` or a plain grep.
///
/// # Errors
/// When the database refuses the data.
pub async fn load(services: &Services) -> anyhow::Result<()> {
    let admin = Principal::system_admin();
    let currency = services.customers.settings().currency;
    for (code, draft) in products(currency)? {
        services
            .orders
            .save_product(&admin, code, draft, Precondition::none())
            .await?;
    }
    let reseller = services
        .customers
        .upsert(
            &admin,
            "DEMO-RESELLER",
            customer("Demo Reseller", 1000, None)?,
            None,
        )
        .await?
        .customer;
    let shop = services
        .customers
        .upsert(
            &admin,
            "DEMO-SHOP-1",
            customer("Demo Shop One", 100, Some("DEMO-RESELLER"))?,
            None,
        )
        .await?
        .customer;
    services
        .customers
        .upsert(
            &admin,
            "DEMO-SHOP-2",
            customer("Demo Shop Two", 50, Some("DEMO-RESELLER"))?,
            None,
        )
        .await?;
    let shop_principal = Principal::new(None, Role::Customer, Some(shop.id));
    let template = TemplateDraft {
        name: "Research in German".into(),
        titles: texts(&[(Locale::En, "Research in German")]),
        descriptions: Localized::new(),
        product: credence_domain::catalog::ProductCode::new("product_research")?,
        attributes: vec![credence_domain::catalog::AttributeValue {
            code: "research_language".into(),
            value: "de".into(),
        }],
    };
    services
        .orders
        .save_template(
            &shop_principal,
            "research-de",
            template,
            Precondition::none(),
        )
        .await?;
    let (_, admin_key) = services
        .auth
        .issue_key(Role::Admin, None, Some("demo admin"))
        .await?;
    let (_, reseller_key) = services
        .auth
        .issue_key(Role::Reseller, Some("DEMO-RESELLER"), Some("demo reseller"))
        .await?;
    let (_, shop_key) = services
        .auth
        .issue_key(Role::Customer, Some("DEMO-SHOP-1"), Some("demo shop"))
        .await?;
    let (_, second_key) = services
        .auth
        .issue_key(Role::Customer, Some("DEMO-SHOP-2"), Some("demo shop two"))
        .await?;
    println!(
        "products: TextCreate (15.00), TextCreateWithKeywords (25.00), product_research (40.00) {currency}"
    );
    println!(
        "customers: DEMO-RESELLER (id {}, credit 1000), DEMO-SHOP-1 (id {}, credit 100), DEMO-SHOP-2 (credit 50)",
        reseller.id, shop.id
    );
    println!("template research-de of DEMO-SHOP-1 orders product_research in German");
    println!(
        "keys: admin, reseller (DEMO-RESELLER), customer (DEMO-SHOP-1), customer-2 (DEMO-SHOP-2)"
    );
    for (label, key) in [
        ("admin", &admin_key),
        ("reseller", &reseller_key),
        ("customer", &shop_key),
        ("customer-2", &second_key),
    ] {
        println!("{label} key: {}", key.secret.expose());
    }
    Ok(())
}
