//! Naming conventions met at the southwest border, and the ways names get
//! recorded differently from one system to the next.
//!
//! Names are kept in their canonical spelling (with accents); each record
//! decides whether its system kept the accents.

use crate::rng::Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Culture {
    /// Two surnames: father's first, then mother's first.
    Hispanic,
    /// Portuguese order: mother's surname, then father's; particles (DA, DOS).
    Brazilian,
    /// One family name, from the father; compound given names (JEAN ROBERT).
    Haitian,
    /// Punjabi (SINGH/KAUR) or Gujarati (PATEL) family names; some people have one name only.
    Indian,
    /// One-syllable family name from the father; two-syllable given name,
    /// written joined or split depending on the system.
    Chinese,
}

pub fn culture_of(citizenship: &str) -> Culture {
    match citizenship {
        "BRA" => Culture::Brazilian,
        "HTI" => Culture::Haitian,
        "IND" => Culture::Indian,
        "CHN" => Culture::Chinese,
        _ => Culture::Hispanic,
    }
}

const HISP_M: &[&str] = &[
    "JOSÉ",
    "JOSÉ LUIS",
    "JUAN",
    "JUAN CARLOS",
    "CARLOS",
    "MIGUEL ÁNGEL",
    "LUIS",
    "JORGE",
    "FRANCISCO",
    "MARVIN",
    "ERICK",
    "WILMER",
    "SANTOS",
    "ÓSCAR",
    "JOSUÉ",
    "KEVIN",
    "BRAYAN",
    "ANDERSON",
    "ELMER",
    "EDWIN",
    "CRISTIAN",
    "JESÚS",
    "ÁNGEL",
    "DAVID",
    "MARIO",
    "HÉCTOR",
    "RAMÓN",
    "JOEL",
    "WALTER",
    "NELSON",
    "FREDY",
    "BYRON",
    "EDGAR",
    "ALEXANDER",
    "JONATHAN",
    "DIEGO",
    "ALEJANDRO",
];
const HISP_F: &[&str] = &[
    "MARÍA",
    "MARÍA GUADALUPE",
    "ANA",
    "ROSA",
    "MARÍA JOSÉ",
    "YESENIA",
    "LUCÍA",
    "SANDRA",
    "KARLA",
    "DORA",
    "GLENDA",
    "BLANCA",
    "SONIA",
    "ANA MARÍA",
    "MARTA",
    "DAYANA",
    "HEIDY",
    "LESLY",
    "ASHLEY",
    "GABRIELA",
    "ANDREA",
    "DANIELA",
    "MARLENE",
    "ELVIA",
    "REINA",
    "MIRIAM",
    "JOSEFINA",
    "ESTELA",
    "ALEJANDRA",
    "FÁTIMA",
    "NOEMÍ",
    "SARAÍ",
    "IRMA",
    "SILVIA",
    "ROCÍO",
];
const HISP_SURNAMES: &[&str] = &[
    "HERNÁNDEZ",
    "LÓPEZ",
    "GARCÍA",
    "PÉREZ",
    "RAMÍREZ",
    "CRUZ",
    "MARTÍNEZ",
    "GONZÁLEZ",
    "RODRÍGUEZ",
    "SÁNCHEZ",
    "GÓMEZ",
    "DÍAZ",
    "REYES",
    "MORALES",
    "JIMÉNEZ",
    "FLORES",
    "CHÁVEZ",
    "TORRES",
    "VÁSQUEZ",
    "RAMOS",
    "MEJÍA",
    "ORELLANA",
    "ALVARADO",
    "AGUILAR",
    "CASTILLO",
    "SOLÍS",
    "OZUNA",
    "ORTIZ",
    "MÉNDEZ",
    "GUZMÁN",
    "JUÁREZ",
    "CARDONA",
    "ESCOBAR",
    "VELÁSQUEZ",
    "PORTILLO",
    "ZELAYA",
    "MONTOYA",
    "BAUTISTA",
    "CIFUENTES",
    "TZUL",
    "XOCOP",
    "CHOC",
    "PEÑA",
    "NÚÑEZ",
    "MUÑOZ",
    "IBÁÑEZ",
    "ROJAS",
    "SALAZAR",
];
const HISP_COMPOUND: &[&str] =
    &["DE LA CRUZ", "DE LEÓN", "DEL CID", "DE LOS SANTOS", "PONCE DE LEÓN", "DE LA ROSA", "DEL VALLE", "DE JESÚS", "SAN JUAN"];

const BRA_M: &[&str] = &["JOÃO", "JOÃO PEDRO", "LUCAS", "GABRIEL", "MATHEUS", "RAFAEL", "THIAGO", "WESLEY", "RONALDO", "JOSÉ CARLOS"];
const BRA_F: &[&str] = &["ANA CLARA", "MARIA EDUARDA", "JÉSSICA", "FERNANDA", "JULIANA", "LETÍCIA", "CAMILA", "ALINE", "PATRÍCIA"];
const BRA_SURNAMES: &[&str] = &[
    "DA SILVA",
    "DOS SANTOS",
    "OLIVEIRA",
    "SOUZA",
    "DE SOUZA",
    "RODRIGUES",
    "FERREIRA",
    "ALVES",
    "PEREIRA",
    "LIMA",
    "GOMES",
    "RIBEIRO",
    "CARVALHO",
    "DA COSTA",
    "MARTINS",
    "ARAÚJO",
];
const HTI_M: &[&str] = &["JEAN", "JEAN ROBERT", "JEAN PIERRE", "WILNER", "FRITZNER", "JOSEPH", "STEVENSON", "WOODLY", "EMMANUEL", "RONALD"];
const HTI_F: &[&str] = &["MARIE", "MARIE CARMELLE", "ROSELINE", "NADÈGE", "WIDLINE", "MIRLANDE", "FABIOLA", "GUERLINE", "JUDITH"];
const HTI_SURNAMES: &[&str] =
    &["JEAN-BAPTISTE", "PIERRE", "JOSEPH", "LOUIS", "CHARLES", "ÉTIENNE", "DORCÉ", "FRANÇOIS", "DESROSIERS", "SAINT-FLEUR", "ALEXIS"];
const IND_M: &[&str] = &["GURPREET", "HARPREET", "JASPREET", "MANPREET", "RAHUL", "AMIT", "VIJAY", "SANDEEP", "HARDIK", "NIKUNJ"];
const IND_F: &[&str] = &["SIMRAN", "MANDEEP", "PRIYA", "POOJA", "NEHA", "KOMAL", "JASLEEN", "HETAL", "DIMPLE"];
const IND_GUJARATI: &[&str] = &["PATEL", "SHAH", "DESAI", "CHAUDHARI"];
const CHN_GIVEN: &[(&str, &str)] = &[
    ("XIAO", "MING"),
    ("WEI", "JIE"),
    ("JIAN", "GUO"),
    ("YU", "HANG"),
    ("ZI", "HAN"),
    ("HAO", "RAN"),
    ("MEI", "LING"),
    ("XIU", "YING"),
    ("JING", "YI"),
    ("SHU", "FEN"),
    ("ZHI", "QIANG"),
    ("LI", "NA"),
];
const CHN_SURNAMES: &[&str] = &["WANG", "LI", "ZHANG", "LIU", "CHEN", "YANG", "HUANG", "ZHAO", "WU", "ZHOU", "LIN"];

/// A person's name as it truly is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name {
    pub given: String,
    /// Surnames in the order the person's own documents give them.
    pub surnames: Vec<String>,
    /// The person has one name only (recorded as given `FNU`).
    pub single_name: bool,
}

impl Name {
    pub fn family_names(&self) -> String {
        self.surnames.join(" ")
    }
}

pub fn given(rng: &mut Rng, culture: Culture, male: bool) -> String {
    match culture {
        Culture::Hispanic => rng.pick(if male { HISP_M } else { HISP_F }).to_string(),
        Culture::Brazilian => rng.pick(if male { BRA_M } else { BRA_F }).to_string(),
        Culture::Haitian => rng.pick(if male { HTI_M } else { HTI_F }).to_string(),
        Culture::Indian => rng.pick(if male { IND_M } else { IND_F }).to_string(),
        Culture::Chinese => {
            let (a, b) = rng.pick(CHN_GIVEN);
            format!("{a} {b}")
        }
    }
}

/// A surname drawn for a person whose parents are not in the scenario.
pub fn surname(rng: &mut Rng, culture: Culture) -> String {
    match culture {
        Culture::Hispanic if rng.chance(0.06) => rng.pick(HISP_COMPOUND).to_string(),
        Culture::Hispanic => rng.pick(HISP_SURNAMES).to_string(),
        Culture::Brazilian => rng.pick(BRA_SURNAMES).to_string(),
        Culture::Haitian => rng.pick(HTI_SURNAMES).to_string(),
        Culture::Indian => rng.pick(IND_GUJARATI).to_string(),
        Culture::Chinese => rng.pick(CHN_SURNAMES).to_string(),
    }
}

/// The name of an adult whose parents are not in the scenario.
pub fn adult(rng: &mut Rng, culture: Culture, male: bool) -> Name {
    let given = given(rng, culture, male);
    let surnames = match culture {
        Culture::Hispanic | Culture::Brazilian => vec![surname(rng, culture), surname(rng, culture)],
        Culture::Indian if rng.chance(0.6) => vec![if male { "SINGH" } else { "KAUR" }.to_string()],
        _ => vec![surname(rng, culture)],
    };
    // Some Indian nationals have a single name; US systems write it as the
    // family name, with FNU for the given name.
    let single_name = culture == Culture::Indian && rng.chance(0.08);
    Name { given, surnames, single_name }
}

/// A child's name from its parents' (either may be absent: `None`).
pub fn child(rng: &mut Rng, culture: Culture, male: bool, father: Option<&Name>, mother: Option<&Name>) -> Name {
    let given = given(rng, culture, male);
    let first = |n: Option<&Name>| n.and_then(|n| n.surnames.first().cloned());
    let last = |n: Option<&Name>| n.and_then(|n| n.surnames.last().cloned());
    let surnames: Vec<String> = match culture {
        Culture::Hispanic => match (father, mother) {
            (Some(_), Some(_)) => vec![first(father), first(mother)].into_iter().flatten().collect(),
            // A single mother's child: often both of her surnames, sometimes
            // an absent father's first surname before hers, sometimes hers only.
            (None, Some(m)) => {
                let roll = rng.f64();
                if roll < 0.5 {
                    m.surnames.clone()
                } else if roll < 0.8 {
                    vec![surname(rng, culture), first(mother).unwrap_or_default()]
                } else {
                    vec![first(mother).unwrap_or_default()]
                }
            }
            (Some(_), None) => vec![first(father).unwrap_or_default(), surname(rng, culture)],
            (None, None) => vec![surname(rng, culture), surname(rng, culture)],
        },
        Culture::Brazilian => {
            let m = last(mother).unwrap_or_else(|| surname(rng, culture));
            let f = last(father).unwrap_or_else(|| surname(rng, culture));
            vec![m, f]
        }
        Culture::Indian => match father.and_then(|f| f.surnames.first()) {
            Some(s) if s == "SINGH" => vec![if male { "SINGH" } else { "KAUR" }.to_string()],
            Some(s) => vec![s.clone()],
            None => match mother.and_then(|m| m.surnames.first()) {
                Some(s) if s == "KAUR" => vec![if male { "SINGH" } else { "KAUR" }.to_string()],
                Some(s) => vec![s.clone()],
                None => vec![surname(rng, culture)],
            },
        },
        // One family name from the father; a single mother's child carries hers.
        Culture::Haitian | Culture::Chinese => {
            vec![first(father).or_else(|| first(mother)).unwrap_or_else(|| surname(rng, culture))]
        }
    };
    let surnames = surnames.into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>();
    let surnames = if surnames.is_empty() { vec![surname(rng, culture)] } else { surnames };
    Name { given, surnames, single_name: false }
}

/// The name with accents and other diacritics removed, as many systems store it.
pub fn strip_accents(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'Á' | 'À' | 'Â' | 'Ã' | 'Ä' => 'A',
            'É' | 'È' | 'Ê' | 'Ë' => 'E',
            'Í' | 'Ì' | 'Î' | 'Ï' => 'I',
            'Ó' | 'Ò' | 'Ô' | 'Õ' | 'Ö' => 'O',
            'Ú' | 'Ù' | 'Û' | 'Ü' => 'U',
            'Ñ' => 'N',
            'Ç' => 'C',
            other => other,
        })
        .collect()
}

/// One typing error: a letter dropped, doubled, replaced by a neighbour on
/// the keyboard, or two letters swapped.
pub fn typo(rng: &mut Rng, s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let letters: Vec<usize> = chars.iter().enumerate().filter(|(_, c)| c.is_alphabetic()).map(|(i, _)| i).collect();
    if letters.len() < 3 {
        return s.to_string();
    }
    let i = letters[rng.below(letters.len())];
    let mut out = chars.clone();
    match rng.below(4) {
        0 => {
            out.remove(i);
        }
        1 => out.insert(i, chars[i]),
        2 => {
            const NEAR: &[(char, char)] =
                &[('A', 'S'), ('E', 'R'), ('I', 'O'), ('N', 'M'), ('R', 'T'), ('L', 'K'), ('S', 'D'), ('O', 'P'), ('U', 'Y'), ('C', 'V')];
            let c = strip_accents(&chars[i].to_string()).chars().next().unwrap_or('A');
            let sub = NEAR
                .iter()
                .find(|(a, b)| *a == c || *b == c)
                .map(|(a, b)| if *a == c { *b } else { *a })
                .unwrap_or_else(|| char::from_u32(u32::from(c) + 1).filter(char::is_ascii_uppercase).unwrap_or('A'));
            out[i] = sub;
        }
        _ => {
            if let Some(&j) = letters.iter().find(|&&j| j == i + 1) {
                out.swap(i, j);
            } else {
                out.remove(i);
            }
        }
    }
    let t: String = out.into_iter().collect();
    let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.is_empty() { s.to_string() } else { t }
}

/// How a shelter's intake spells a name it heard: second given name dropped,
/// sound-alike letters, a transliteration, or a surname mis-heard.
pub fn respell(rng: &mut Rng, given: &str, family: &str) -> (String, String) {
    const SOUNDS: &[(&str, &str)] =
        &[("Y", "I"), ("V", "B"), ("Z", "S"), ("LL", "Y"), ("J", "G"), ("QU", "K"), ("SS", "S"), ("H", ""), ("W", "GU"), ("X", "J")];
    for _ in 0..4 {
        let (g, f) = match rng.below(4) {
            0 if given.contains(' ') => (given.split_whitespace().next().unwrap_or(given).to_string(), family.to_string()),
            1 => {
                let (a, b) = rng.pick(SOUNDS);
                (given.replacen(a, b, 1), family.to_string())
            }
            2 => {
                let (a, b) = rng.pick(SOUNDS);
                (given.to_string(), family.replacen(a, b, 1))
            }
            _ => (typo(rng, given), family.to_string()),
        };
        let g = g.trim().to_string();
        if (g != given || f != family) && !g.is_empty() && !f.trim().is_empty() {
            return (g, f);
        }
    }
    (typo(rng, given), family.to_string())
}
