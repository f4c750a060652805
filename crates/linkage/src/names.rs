//! Names as linkage compares them: given names split and canonicalised,
//! family names split into paternal and maternal surnames by the naming
//! convention of the person's country.
//!
//! Folding (case, accents, punctuation) is the domain's
//! [`kinship_domain::name::fold`]; this module adds what only linkage needs.

use kinship_domain::name::tokens;

/// How a country's family names are built. It decides which recorded surname
/// is the father's and which the mother's, and how much a shared surname says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Convention {
    /// Spanish-speaking countries: father's first surname, then mother's first
    /// surname (`PEREZ GARCIA`). The default when the country is not known,
    /// because most border records are Latin American.
    Hispanic,
    /// Portuguese-speaking countries: mother's surname first, father's last
    /// (`SILVA SANTOS`: SANTOS is the father's).
    MaternalFirst,
    /// One inherited surname, usually the father's.
    SingleSurname,
    /// The "family name" is the father's given name (Somalia, Eritrea,
    /// Ethiopia): a child's family name equals the father's first given name.
    Patronymic,
    /// The recorded family name is shared by a whole clan or religious
    /// community (SINGH, KAUR; Hmong clan names): agreement says little about
    /// kinship and nothing about parentage.
    Clan,
}

impl Convention {
    pub fn for_citizenship(code: Option<&str>) -> Self {
        match code {
            None => Convention::Hispanic,
            Some(c) => match c {
                "MEX" | "GTM" | "HND" | "SLV" | "NIC" | "CRI" | "PAN" | "COL" | "VEN" | "ECU" | "PER" | "BOL" | "CHL" | "ARG" | "URY"
                | "PRY" | "CUB" | "DOM" | "ESP" | "PRI" | "GNQ" => Convention::Hispanic,
                "BRA" | "PRT" | "AGO" | "MOZ" | "CPV" | "GNB" | "STP" | "TLS" => Convention::MaternalFirst,
                "SOM" | "ERI" | "ETH" | "DJI" => Convention::Patronymic,
                "IND" | "NPL" | "LAO" => Convention::Clan,
                _ => Convention::SingleSurname,
            },
        }
    }
}

/// Given names, folded, abbreviations expanded (`MA.` → `MARIA`), particles
/// of compound names dropped (`MARIA DE LOS ANGELES` → `MARIA ANGELES`).
/// `FNU` gives no tokens.
pub fn given_tokens(raw: &str) -> Vec<String> {
    // `Mª` is the usual abbreviation of MARIA; the ordinal sign folds to `ª`.
    let raw = raw.replace(['ª', 'º'], "A ");
    let toks = tokens(&raw);
    if toks.len() == 1 && toks[0] == "FNU" {
        return vec![];
    }
    toks.into_iter()
        .filter(|t| !matches!(t.as_str(), "DE" | "DEL" | "LA" | "LAS" | "LOS" | "Y"))
        .map(|t| match t.as_str() {
            "MA" => "MARIA".to_string(),
            "JHON" | "JHONNY" => "JOHN".to_string(),
            _ => t,
        })
        .collect()
}

/// The canonical form of a given name: a common nickname or short form is
/// replaced by the name it stands for (`PANCHO` → `FRANCISCO`, `LUPE` →
/// `GUADALUPE`); any other name is returned unchanged.
pub fn canonical_given(token: &str) -> &str {
    match NICKNAMES.binary_search_by(|(nick, _)| (*nick).cmp(token)) {
        Ok(i) => NICKNAMES[i].1,
        Err(_) => token,
    }
}

/// Sorted by nickname (binary search); checked by a unit test.
const NICKNAMES: &[(&str, &str)] = &[
    ("BETO", "ALBERTO"),
    ("BILL", "WILLIAM"),
    ("BOB", "ROBERT"),
    ("CHABELA", "ISABEL"),
    ("CHAYO", "ROSARIO"),
    ("CHELA", "GRACIELA"),
    ("CHELO", "CONSUELO"),
    ("CHEMA", "JOSE"),
    ("CHENTE", "VICENTE"),
    ("CHEPE", "JOSE"),
    ("CHEPITA", "JOSEFA"),
    ("CHUCHO", "JESUS"),
    ("CHUY", "JESUS"),
    ("CONCHA", "CONCEPCION"),
    ("CONCHITA", "CONCEPCION"),
    ("DAVE", "DAVID"),
    ("GOYO", "GREGORIO"),
    ("GUILLE", "GUILLERMO"),
    ("JIM", "JAMES"),
    ("KIKE", "ENRIQUE"),
    ("LALO", "EDUARDO"),
    ("LENCHO", "LORENZO"),
    ("LICHA", "ALICIA"),
    ("LOLA", "DOLORES"),
    ("LOLITA", "DOLORES"),
    ("LUCHO", "LUIS"),
    ("LUPE", "GUADALUPE"),
    ("LUPITA", "GUADALUPE"),
    ("MANOLO", "MANUEL"),
    ("MEMO", "GUILLERMO"),
    ("MIKE", "MICHAEL"),
    ("NACHO", "IGNACIO"),
    ("NATI", "NATIVIDAD"),
    ("PACHO", "FRANCISCO"),
    ("PACO", "FRANCISCO"),
    ("PANCHA", "FRANCISCA"),
    ("PANCHITA", "FRANCISCA"),
    ("PANCHO", "FRANCISCO"),
    ("PEPA", "JOSEFA"),
    ("PEPE", "JOSE"),
    ("PILI", "PILAR"),
    ("QUIQUE", "ENRIQUE"),
    ("RAFA", "RAFAEL"),
    ("TENCHA", "HORTENSIA"),
    ("TOMMY", "THOMAS"),
    ("TONO", "ANTONIO"),
    ("TONY", "ANTONIO"),
    ("VICHO", "VICENTE"),
];

/// One surname, with the particles it was written with (`DE LA CRUZ`) and
/// the key it is compared by (`CRUZ`): other records often drop the
/// particles. A known compound keeps all its words in the key
/// (`PONCE DE LEON` → `PONCEDELEON`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Surname {
    pub full: String,
    pub key: String,
}

/// Family names split by convention.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Surnames {
    /// Every surname in recorded order.
    pub all: Vec<Surname>,
    /// The surname inherited from the father (for [`Convention::Patronymic`],
    /// the father's given name).
    pub paternal: Option<Surname>,
    /// The surname inherited from the mother, where the convention has one.
    pub maternal: Option<Surname>,
}

const COMPOUNDS: &[&[&str]] = &[
    &["ESPINOSA", "DE", "LOS", "MONTEROS"],
    &["FERNANDEZ", "DE", "CORDOBA"],
    &["GARCIA", "DE", "LEON"],
    &["MONTES", "DE", "OCA"],
    &["PONCE", "DE", "LEON"],
    &["PEREZ", "DE", "LEON"],
    &["RUIZ", "DE", "ALARCON"],
    &["SAENZ", "DE", "LA", "TORRE"],
];

const PARTICLES: &[&str] = &["DE", "DEL", "LA", "LAS", "LOS", "DA", "DAS", "DO", "DOS", "VAN", "VON", "DER", "DI"];
/// Words that are part of the surname itself (`SAN MARTIN` is not `MARTIN`).
const BOUND: &[&str] = &["SAN", "SANTA", "SANTO", "MAC", "MC", "O"];

/// Splits merged particles: `DELACRUZ` → `DE LA CRUZ`. `DELGADO` and `DELEON`
/// stay whole (only `DELA`, `DELAS`, `DELOS` are split, since no common
/// surname starts with them).
fn unmerge(toks: Vec<String>) -> Vec<String> {
    let mut out = Vec::with_capacity(toks.len() + 2);
    for t in toks {
        let split = ["DELOS", "DELAS", "DELA"].iter().find(|p| t.len() >= p.len() + 3 && t.starts_with(**p)).map(|p| (p.len(), &p[2..]));
        match split {
            Some((n, article)) => {
                out.push("DE".to_string());
                out.push(article.to_string());
                out.push(t[n..].to_string());
            }
            None => out.push(t),
        }
    }
    out
}

/// All surnames of a `family_names` value, in recorded order.
pub fn split_surnames(raw: &str) -> Vec<Surname> {
    let toks = tokens(raw);
    if toks.len() == 1 && toks[0] == "LNU" {
        return vec![];
    }
    let toks = unmerge(toks);
    let mut out = Vec::new();
    let mut pending: Vec<&str> = Vec::new();
    let mut bound: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if pending.is_empty()
            && bound.is_empty()
            && let Some(c) = COMPOUNDS.iter().find(|c| toks.len() - i >= c.len() && c.iter().zip(&toks[i..]).all(|(a, b)| a == b))
        {
            out.push(Surname { full: c.join(" "), key: c.concat() });
            i += c.len();
            continue;
        }
        let t = toks[i].as_str();
        i += 1;
        if t == "Y" && pending.is_empty() && bound.is_empty() && !out.is_empty() {
            continue; // "PEREZ Y GARCIA": the conjunction joins two surnames
        }
        if PARTICLES.contains(&t) && i < toks.len() {
            pending.push(t);
            continue;
        }
        if BOUND.contains(&t) && i < toks.len() {
            bound.push(t);
            continue;
        }
        let mut full: Vec<&str> = std::mem::take(&mut pending);
        full.extend(bound.iter().copied());
        full.push(t);
        let mut key: String = bound.drain(..).collect();
        key.push_str(t);
        out.push(Surname { full: full.join(" "), key });
    }
    out
}

/// Splits `family_names` into paternal and maternal surnames.
pub fn surnames(raw: &str, convention: Convention) -> Surnames {
    let all = split_surnames(raw);
    let (paternal, maternal) = match (convention, all.len()) {
        (_, 0) => (None, None),
        (Convention::MaternalFirst, n) if n >= 2 => (all.last().cloned(), all.first().cloned()),
        (Convention::SingleSurname | Convention::Clan, n) if n >= 2 => {
            // Several words for one inherited surname (`VAN DAM`, `DA COSTA`):
            // compared as one.
            let full = all.iter().map(|s| s.full.as_str()).collect::<Vec<_>>().join(" ");
            let key = all.iter().map(|s| s.key.as_str()).collect::<String>();
            (Some(Surname { full, key }), None)
        }
        (Convention::Patronymic, _) => (all.first().cloned(), None),
        (_, 1) => (all.first().cloned(), None),
        (_, _) => (all.first().cloned(), all.get(1).cloned()),
    };
    Surnames { all, paternal, maternal }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(raw: &str) -> Vec<String> {
        split_surnames(raw).into_iter().map(|s| s.key).collect()
    }

    #[test]
    fn nickname_table_is_sorted_for_binary_search() {
        assert!(NICKNAMES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn given_names_expand_abbreviations_and_drop_particles() {
        assert_eq!(given_tokens("Ma. Guadalupe"), vec!["MARIA", "GUADALUPE"]);
        assert_eq!(given_tokens("Mª José"), vec!["MARIA", "JOSE"]);
        assert_eq!(given_tokens("MARÍA DE LOS ÁNGELES"), vec!["MARIA", "ANGELES"]);
        assert_eq!(given_tokens("FNU"), Vec::<String>::new());
        assert_eq!(canonical_given("PANCHO"), "FRANCISCO");
        assert_eq!(canonical_given("LUPITA"), "GUADALUPE");
        assert_eq!(canonical_given("JOSE"), "JOSE");
    }

    #[test]
    fn surnames_with_particles_compounds_and_conjunctions() {
        assert_eq!(keys("DE LA CRUZ LOPEZ"), vec!["CRUZ", "LOPEZ"]);
        assert_eq!(keys("delacruz lópez"), vec!["CRUZ", "LOPEZ"]);
        assert_eq!(keys("Pérez y García"), vec!["PEREZ", "GARCIA"]);
        assert_eq!(keys("PONCE DE LEON HERNANDEZ"), vec!["PONCEDELEON", "HERNANDEZ"]);
        assert_eq!(keys("GARCIA MONTES DE OCA"), vec!["GARCIA", "MONTESDEOCA"]);
        assert_eq!(keys("DE LOS SANTOS DEL RIO"), vec!["SANTOS", "RIO"]);
        assert_eq!(keys("SAN MARTIN DELGADO"), vec!["SANMARTIN", "DELGADO"]);
        assert_eq!(keys("LNU"), Vec::<String>::new());
        let s = split_surnames("DE LA CRUZ");
        assert_eq!(s[0].full, "DE LA CRUZ");
    }

    #[test]
    fn paternal_and_maternal_follow_the_convention() {
        let h = surnames("PEREZ GARCIA", Convention::for_citizenship(Some("MEX")));
        assert_eq!((h.paternal.map(|s| s.key), h.maternal.map(|s| s.key)), (Some("PEREZ".into()), Some("GARCIA".into())));
        let b = surnames("SILVA SANTOS", Convention::for_citizenship(Some("BRA")));
        assert_eq!((b.paternal.map(|s| s.key), b.maternal.map(|s| s.key)), (Some("SANTOS".into()), Some("SILVA".into())));
        let s = surnames("VAN DAM", Convention::for_citizenship(Some("NLD")));
        assert_eq!((s.paternal.map(|s| s.key), s.maternal), (Some("DAM".into()), None));
        let one = surnames("HERNÁNDEZ", Convention::Hispanic);
        assert_eq!((one.paternal.map(|s| s.key), one.maternal), (Some("HERNANDEZ".into()), None));
    }
}
