//! The words screening knows and what each can signal. A word's roles are facts about the
//! word alone ("ice can be the agency or frozen water"); the rules decide from context.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A set of roles, one bit each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Roles(pub u128);

impl Roles {
    pub const NONE: Roles = Roles(0);

    pub fn has(self, role: Roles) -> bool {
        self.0 & role.0 != 0
    }

    pub const fn or(self, other: Roles) -> Roles {
        Roles(self.0 | other.0)
    }
}

macro_rules! roles {
    ($($name:ident = $bit:expr;)+) => {
        $(pub(crate) const $name: Roles = Roles(1u128 << $bit);)+
    };
}

// Triggers: a word that, in the right context, states immigration enforcement.
roles! {
    ICE = 0;            // the agency, or frozen water, or methamphetamine
    AGENCY = 1;         // components that only do immigration: ERO, USBP, FOT, DRO
    AGENCY_MIXED = 2;   // agencies with criminal arms too: HSI, CBP, DHS, USCIS, Homeland
    IMM_WORD = 3;       // immigration and its spellings, Spanish forms, undocumented
    DEPORT = 4;         // deportation and its forms, "illegals"
    CIVIL_PROCESS = 5;  // detainer, form numbers, 287(g): never anything else
    ALIEN = 6;
    ILLEGAL = 7;
    ILLEGAL_OBJECT = 8; // what "illegal" turns into immigration: alien, entry, immigrant
    REMOVAL = 9;
    REMOVAL_CONTEXT = 10;
    REMOVABLE = 11;
    ADMIN = 12;
    ADMIN_CONTEXT = 13;
    VISA = 14;
    VISA_CONTEXT = 15;
    BORDER = 16;
    PATROL = 17;
    IVF = 18;
    IVF_CONTEXT = 19;
    CAP = 20;
    CAP_CONTEXT = 21;
    STATUS = 22;
    STATUS_QUALIFIER = 23;
    CITIZENSHIP = 24;
    CHECK = 25;
    SECTION_287 = 26;
    LETTER_G = 27;
    LETTER_I = 28;
    FORM_NUMBER = 29;
    FORM_WORD = 30;
    USC = 31;
    IMMIGRATION_CODE = 32;
    SIN = 33;
    PAPELES = 34;
    OPERATION_WORD = 35;
    REPRO = 36;
    REPRO_QUALIFIER = 37;
    REPRO_OBJECT = 38;
}

// Context: words that change what a trigger means.
roles! {
    ICE_THING = 40;      // frozen water: road, storm, rink, cream
    ICE_OTHER = 41;      // drug slang or "in case of emergency": sale, meth, contact
    ICE_FROZEN_BEFORE = 42; // black ice, dry ice
    ENFORCEMENT_CUE = 43;   // hold, pickup, locate: keeps ICE the agency despite ICE_OTHER
    CRIMINAL_CONTEXT = 44;  // trafficking, exploitation, narcotics, fraud, welfare
    PREPOSITION = 45;       // at, on, against: "assault on ICE officer"
    CRIME_AGAINST = 46;     // assault, vandalism, burglary
    ARTICLE = 47;
    NOT_ENFORCEMENT_NEXT = 48; // attorney, clinic, protest: "immigration attorney"
    VICTIM = 49;            // victim, notario, survivor
    VICTIM_VISA_LETTER = 50; // U and T (visas for victims)
    VEHICLE_CONTEXT = 51;   // tow, graffiti, abandoned: removal of things
    PREMISES = 52;          // illegal entry into a building is burglary
    CARD = 53;              // Visa the card brand
    SMUGGLING = 54;
    ANTI = 55;
    VICTIM_FORM = 56;       // I-918 (U visa), I-914 (T visa), VAWA
    ALIEN_CONTEXT = 57;     // criminal alien, alien registration, resident alien
    BUSINESS = 58;          // "Ero's Pizza": a name before a business noun is a business
    POSSESSIVE_S = 59;
    ENTRY = 60;             // "illegal entry" is immigration, unless into a building
    IMM_ABBREVIATION = 61;  // "imm": immigration only before an enforcement word
    FELL_ON = 62;           // slipped, fell, skidded: "... on (the) ice" is frozen water
    ICE_NOUN = 63;          // pack, scraper, jam: straight after "ice", a thing made of it
}

// Statutory terms of art, and what tells them from look-alikes.
roles! {
    INSPECTION = 64;        // "entry without inspection", "present without admission"
    WITHOUT = 65;
    OUT = 66;               // "out of status"
    INS_WORD = 67;          // INS, the agency before 2003; "ins" is also insurance
    INSURANCE_CUE = 68;     // "no ins", "proof of ins", "ins card"
    INA_WORD = 69;          // the Immigration and Nationality Act, before a section number
    DETAINER = 70;          // an immigration detainer unless it is a local or state one
    LOCAL_CUSTODY = 71;     // state, county, parole, probation: a detainer that is not ICE's
    REENTRY = 72;           // reentry after removal; also a prison "reentry program"
    LETTER_A = 73;          // "A#", "A-number", "A-file": the alien registration number
    ROAD = 74;              // I-205 is also an interstate: "crash on I-205"
    STATUTE_NUMBER = 75;    // a section number of the INA (212, 235, 237, 241)
    ACTION = 76;            // arrest, hold, locate, custody: something done to a person,
                            // which no victim's certification explains
    CERTIFY = 77;           // certification, certify, signed: what a victim's visa asks of police
    ICE_CONTACT = 78;       // contact, emergency: "ICE contact" is an in-case-of-emergency contact
    THREAT_TO_CALL = 79;    // "threatened to call ICE": the agency named in an abuser's threat
    IMM_NEXT = 80;          // court, judge, fugitive: "IMM" beside them is immigration
    NAME_CUE = 81;          // aka, moniker, Mr: the next word is a person's name
}

const TABLE: &[(&str, Roles)] = &[
    ("ice", ICE),
    // Something done to a person: a victim named beside it does not make it a victim's
    // business ("U visa; ICE arrest").
    ("arrest", ACTION),
    ("arrests", ACTION),
    ("arrested", ACTION),
    ("hold", ACTION),
    ("detain", ACTION),
    ("detained", ACTION),
    ("locate", ACTION),
    ("pickup", ACTION),
    ("custody", ACTION),
    ("apprehend", ACTION),
    ("apprehension", ACTION),
    ("removal", ACTION),
    ("raid", ACTION),
    ("target", ACTION),
    ("wants", ACTION),
    ("tgt", ACTION.or(ENFORCEMENT_CUE).or(CAP_CONTEXT)),
    // Shorthand for a request, as officers type it ("ICE REQ", "CAP REQ").
    ("req", ENFORCEMENT_CUE.or(CAP_CONTEXT)),
    ("reqs", ENFORCEMENT_CUE),
    ("rqst", ENFORCEMENT_CUE),
    // ICE's own units and programs, named by themselves: the Law Enforcement Support
    // Center, the Office of the Principal Legal Advisor, the supervision program (ISAP),
    // Fugitive Operations; and a Border Patrol agent.
    ("lesc", AGENCY),
    ("opla", AGENCY),
    ("isap", AGENCY),
    ("fugops", AGENCY),
    ("bpa", AGENCY),
    ("enf", REMOVAL_CONTEXT),
    ("undoc", IMM_WORD),
    ("undocs", IMM_WORD),
    ("h1b", VISA),
    ("noncitizen", ALIEN),
    ("noncitizens", ALIEN),
    ("inadmissible", REMOVABLE),
    // What follows "IMM" when it is immigration, not "immediate" ("IMM COURT", "IMM FUG").
    ("viol", IMM_NEXT.or(VISA_CONTEXT)),
    ("fug", IMM_NEXT.or(OPERATION_WORD)),
    ("fugitive", IMM_NEXT.or(OPERATION_WORD)),
    // First words of two-word terms (`operation_name`).
    ("ij", OPERATION_WORD),
    ("lawfully", OPERATION_WORD),
    ("bp", OPERATION_WORD),
    ("court", IMM_NEXT),
    ("judge", IMM_NEXT),
    ("fed", IMM_NEXT),
    ("federal", IMM_NEXT),
    // A name, not the agency: "aka Ice", "Mr Ero", "moniker Ice".
    ("aka", NAME_CUE),
    ("moniker", NAME_CUE),
    ("nickname", NAME_CUE),
    ("lil", NAME_CUE),
    ("mr", NAME_CUE),
    ("mrs", NAME_CUE),
    ("ms", NAME_CUE),
    ("named", NAME_CUE),
    ("surname", NAME_CUE),
    // More meth, as incident types write it.
    ("poss", ICE_OTHER),
    ("narco", ICE_OTHER),
    ("narcs", ICE_OTHER),
    ("lab", ICE_OTHER),
    ("trafficker", ICE_OTHER),
    ("fent", ICE_OTHER),
    ("fentanyl", ICE_OTHER),
    ("heroin", ICE_OTHER),
    ("cocaine", ICE_OTHER),
    ("dope", ICE_OTHER),
    // Traffic collisions and places of ice.
    ("tc", ICE_THING.or(FELL_ON)),
    ("hazard", ICE_THING),
    ("center", ICE_THING),
    ("centre", ICE_THING),
    ("palace", ICE_THING),
    ("reckless", ROAD),
    ("driving", ROAD),
    // Detainers lodged by a sheriff or a department.
    ("laso", LOCAL_CUSTODY),
    ("lasd", LOCAL_CUSTODY),
    ("co", LOCAL_CUSTODY),
    ("pd", LOCAL_CUSTODY),
    ("so", LOCAL_CUSTODY),
    // A state's human services, which several states call DHS.
    ("cps", CRIMINAL_CONTEXT),
    ("aps", CRIMINAL_CONTEXT),
    ("elder", CRIMINAL_CONTEXT),
    ("referral", CRIMINAL_CONTEXT),
    ("dcfs", CRIMINAL_CONTEXT),
    ("human", CRIMINAL_CONTEXT),
    ("svcs", CRIMINAL_CONTEXT),
    ("icac", CRIMINAL_CONTEXT),
    // A victim, as reports abbreviate it, and the crimes that have one.
    ("vic", VICTIM),
    ("vict", VICTIM),
    ("extortion", VICTIM),
    ("afraid", VICTIM),
    // A removal order in a domestic case removes someone from a home.
    ("restraining", PREMISES),
    ("protective", PREMISES),
    ("dv", PREMISES),
    ("domestic", PREMISES),
    ("reg", VEHICLE_CONTEXT),
    ("veh", VEHICLE_CONTEXT),
    ("operation", REMOVAL_CONTEXT),
    ("call", THREAT_TO_CALL),
    ("calling", THREAT_TO_CALL),
    ("report", THREAT_TO_CALL),
    ("reporting", THREAT_TO_CALL),
    ("enforce", ACTION),
    ("enforcing", ACTION),
    ("violation", ACTION),
    ("violations", ACTION),
    ("violator", ACTION),
    ("violators", ACTION),
    ("arresting", ACTION),
    ("holds", ACTION),
    ("raids", ACTION),
    ("targeted", ACTION),
    ("capture", ACTION),
    ("transfer", ACTION),
    ("detention", ACTION),
    ("removed", ACTION),
    // "ICE contact", "ICE emergency contact": in case of emergency, read only after it.
    ("contact", ICE_CONTACT),
    ("emergency", ICE_CONTACT),
    // Asked for, by an agency: keeps ICE the agency beside drug or contact words.
    ("requested", ENFORCEMENT_CUE),
    ("requests", ENFORCEMENT_CUE),
    ("requesting", ENFORCEMENT_CUE),
    // More meth: sold, taken, found as "ice".
    ("pwid", ICE_OTHER),
    ("overdose", ICE_OTHER),
    ("od", ICE_OTHER),
    ("shard", ICE_OTHER),
    ("shards", ICE_OTHER),
    // Frozen water on the road and the rescues from it, as incident types write them.
    ("rollover", ICE_THING),
    ("jackknifed", ICE_THING),
    ("stranded", ICE_THING),
    ("rescue", ICE_THING),
    ("rd", ICE_THING.or(ROAD)),
    ("mvc", ICE_THING),
    ("mva", ICE_THING),
    ("accident", ICE_THING),
    ("crash", ICE_THING),
    ("road", ROAD),
    ("bridge", ROAD),
    ("dui", ROAD),
    ("rage", ROAD),
    // More criminal detainers: prison systems, federal criminal agencies, the sheriff.
    ("iad", LOCAL_CUSTODY),
    ("cdcr", LOCAL_CUSTODY),
    ("tdcj", LOCAL_CUSTODY),
    ("fbi", LOCAL_CUSTODY),
    ("dea", LOCAL_CUSTODY),
    ("atf", LOCAL_CUSTODY),
    ("sheriff", LOCAL_CUSTODY),
    ("juvenile", LOCAL_CUSTODY),
    ("certification", CERTIFY),
    ("certifications", CERTIFY),
    ("cert", CERTIFY),
    ("certs", CERTIFY),
    ("certify", CERTIFY),
    ("certifying", CERTIFY),
    ("certified", CERTIFY),
    ("signed", CERTIFY),
    ("signature", CERTIFY),
    ("declaration", CERTIFY),
    ("supplement", CERTIFY),
    // A criminal detainer: the prison systems and the Marshals, and the interstate compact.
    ("doc", LOCAL_CUSTODY),
    ("idoc", LOCAL_CUSTODY),
    ("bop", LOCAL_CUSTODY),
    ("usms", LOCAL_CUSTODY),
    ("marshal", LOCAL_CUSTODY),
    ("marshals", LOCAL_CUSTODY),
    ("agreement", LOCAL_CUSTODY),
    // Meth sold or weighed as "ice".
    ("buy", ICE_OTHER),
    ("sales", ICE_OTHER),
    ("oz", ICE_OTHER),
    ("ounce", ICE_OTHER),
    ("ounces", ICE_OTHER),
    // Roads, for I-205 the interstate.
    ("speeding", ROAD),
    ("overpass", ROAD),
    ("interchange", ROAD),
    ("hwy", ROAD),
    ("highway", ROAD),
    ("freeway", ROAD),
    ("fwy", ROAD),
    ("ramp", ROAD),
    ("shoulder", ROAD),
    // Crashes on ice, as exports in capitals write them ("MVA ON ICE").
    ("out", FELL_ON),
    ("mva", FELL_ON),
    ("mvc", FELL_ON),
    ("accident", FELL_ON),
    // Spanish.
    ("documentos", PAPELES),
    ("expulsion", REMOVAL),
    ("criminal", ALIEN_CONTEXT),
    ("registration", ALIEN_CONTEXT),
    // The alien file (A-file): "pull alien file".
    ("file", ALIEN_CONTEXT),
    ("resident", ALIEN_CONTEXT),
    ("number", ALIEN_CONTEXT),
    ("s", POSSESSIVE_S),
    ("pizza", BUSINESS),
    ("pizzeria", BUSINESS),
    ("restaurant", BUSINESS),
    ("cafe", BUSINESS),
    ("bar", BUSINESS),
    ("grill", BUSINESS),
    ("bakery", BUSINESS),
    ("market", BUSINESS),
    ("deli", BUSINESS),
    ("tavern", BUSINESS),
    ("lounge", BUSINESS),
    ("salon", BUSINESS),
    ("shop", BUSINESS),
    ("boutique", BUSINESS),
    ("liquors", BUSINESS),
    ("motors", BUSINESS),
    ("inc", BUSINESS),
    ("llc", BUSINESS),
    ("ero", AGENCY.or(ENFORCEMENT_CUE)),
    ("usbp", AGENCY),
    ("fot", AGENCY),
    ("dro", AGENCY),
    // The immigration courts (Executive Office for Immigration Review): removal cases.
    ("eoir", AGENCY),
    ("hsi", AGENCY_MIXED.or(ENFORCEMENT_CUE)),
    ("cbp", AGENCY_MIXED.or(ENFORCEMENT_CUE)),
    ("dhs", AGENCY_MIXED.or(ENFORCEMENT_CUE)),
    ("uscis", AGENCY_MIXED),
    ("homeland", AGENCY_MIXED),
    ("immigration", IMM_WORD.or(ENFORCEMENT_CUE)),
    ("inmigracion", IMM_WORD),
    ("migra", IMM_WORD),
    ("migratorio", IMM_WORD.or(STATUS_QUALIFIER)),
    ("migratoria", IMM_WORD.or(STATUS_QUALIFIER)),
    ("undocumented", IMM_WORD),
    ("indocumentado", IMM_WORD),
    ("indocumentada", IMM_WORD),
    ("indocumentados", IMM_WORD),
    ("indocumentadas", IMM_WORD),
    ("deport", DEPORT),
    ("deported", DEPORT),
    ("deportee", DEPORT),
    ("deportable", DEPORT),
    ("deportation", DEPORT.or(ENFORCEMENT_CUE)),
    ("deportations", DEPORT),
    ("deportacion", DEPORT),
    ("deportar", DEPORT),
    ("deportado", DEPORT),
    ("deportada", DEPORT),
    ("illegals", DEPORT),
    ("ilegales", DEPORT),
    ("detainer", DETAINER.or(ENFORCEMENT_CUE)),
    ("detainers", DETAINER.or(ENFORCEMENT_CUE)),
    ("ewi", CIVIL_PROCESS),
    ("inspection", INSPECTION),
    ("admission", INSPECTION),
    ("inspeccion", INSPECTION),
    ("without", WITHOUT),
    ("out", OUT),
    ("ins", INS_WORD),
    ("insurance", INSURANCE_CUE),
    ("proof", INSURANCE_CUE),
    ("no", INSURANCE_CUE),
    ("expired", INSURANCE_CUE.or(VISA_CONTEXT)),
    ("valid", INSURANCE_CUE),
    ("policy", INSURANCE_CUE),
    ("claim", INSURANCE_CUE),
    ("auto", INSURANCE_CUE),
    ("ina", INA_WORD),
    ("212", STATUTE_NUMBER),
    ("235", STATUTE_NUMBER),
    ("235b", STATUTE_NUMBER),
    ("237", STATUTE_NUMBER),
    ("241", STATUTE_NUMBER),
    ("state", LOCAL_CUSTODY),
    ("county", LOCAL_CUSTODY),
    ("parole", LOCAL_CUSTODY),
    ("probation", LOCAL_CUSTODY),
    ("jail", LOCAL_CUSTODY),
    ("court", LOCAL_CUSTODY),
    ("municipal", LOCAL_CUSTODY),
    ("local", LOCAL_CUSTODY),
    ("reentry", REENTRY.or(ILLEGAL_OBJECT)),
    ("reingreso", REENTRY.or(ILLEGAL_OBJECT)),
    ("removed", REMOVAL.or(ALIEN_CONTEXT)),
    ("remocion", REMOVAL),
    ("orden", REMOVAL_CONTEXT),
    ("expedited", REMOVAL_CONTEXT),
    ("reinstatement", REMOVAL_CONTEXT),
    ("reinstated", REMOVAL_CONTEXT),
    ("stipulated", REMOVAL_CONTEXT),
    ("prior", REMOVAL_CONTEXT),
    ("previously", REMOVAL_CONTEXT),
    ("ordered", REMOVAL_CONTEXT),
    ("final", REMOVAL_CONTEXT.or(ALIEN_CONTEXT)),
    ("fugitive", ALIEN_CONTEXT),
    ("inadmissible", ALIEN_CONTEXT),
    ("excludable", ALIEN_CONTEXT),
    ("deportable", ALIEN_CONTEXT),
    ("apprehension", ALIEN_CONTEXT),
    ("apprehended", ALIEN_CONTEXT),
    ("harboring", ALIEN_CONTEXT),
    ("harbouring", ALIEN_CONTEXT),
    ("transporting", ALIEN_CONTEXT),
    ("register", ALIEN_CONTEXT),
    ("reg", ALIEN_CONTEXT),
    ("aggravated", ALIEN_CONTEXT),
    ("felon", ALIEN_CONTEXT),
    ("unlawful", ILLEGAL),
    ("unlawfully", ILLEGAL),
    ("improper", ILLEGAL),
    ("improperly", ILLEGAL),
    ("illegel", ILLEGAL),
    ("ilegel", ILLEGAL),
    ("illigal", ILLEGAL),
    ("presence", ILLEGAL_OBJECT),
    ("lawful", STATUS_QUALIFIER),
    ("immigrant", ILLEGAL_OBJECT.or(REMOVAL_CONTEXT)),
    ("allien", ALIEN.or(ILLEGAL_OBJECT)),
    ("alein", ALIEN.or(ILLEGAL_OBJECT)),
    ("allience", Roles::NONE),
    ("imigrant", ILLEGAL_OBJECT),
    ("immigrent", ILLEGAL_OBJECT),
    ("inmigrant", ILLEGAL_OBJECT),
    ("boarder", BORDER),
    ("frontera", BORDER.or(ILLEGAL_OBJECT)),
    ("patol", PATROL),
    ("partol", PATROL),
    ("patrl", PATROL),
    ("cruce", ILLEGAL_OBJECT),
    ("pais", ILLEGAL_OBJECT),
    ("entrada", ENTRY),
    ("migratorios", IMM_WORD.or(STATUS_QUALIFIER)),
    ("migratorias", IMM_WORD.or(STATUS_QUALIFIER)),
    ("deportados", DEPORT),
    ("deportadas", DEPORT),
    ("voluntary", OPERATION_WORD),
    ("departure", OPERATION_WORD),
    ("secure", OPERATION_WORD),
    ("communities", OPERATION_WORD),
    ("a", LETTER_A),
    ("crash", ROAD),
    ("mm", ROAD),
    ("nb", ROAD),
    ("sb", ROAD),
    ("eb", ROAD),
    ("wb", ROAD),
    ("northbound", ROAD),
    ("southbound", ROAD),
    ("eastbound", ROAD),
    ("westbound", ROAD),
    ("exit", ROAD),
    ("mile", ROAD),
    ("mp", ROAD),
    ("lane", ROAD),
    ("accident", ROAD),
    ("mvc", ROAD),
    ("mva", ROAD),
    ("traffic", ROAD),
    ("interstate", ROAD),
    ("pursuit", ROAD),
    ("287g", CIVIL_PROCESS),
    ("alien", ALIEN.or(ILLEGAL_OBJECT).or(REMOVAL_CONTEXT)),
    ("aliens", ALIEN.or(ILLEGAL_OBJECT).or(REMOVAL_CONTEXT)),
    ("illegal", ILLEGAL),
    ("illegally", ILLEGAL),
    ("ilegal", ILLEGAL),
    ("immigrants", ILLEGAL_OBJECT.or(REMOVAL_CONTEXT)),
    ("inmigrante", ILLEGAL_OBJECT),
    ("inmigrantes", ILLEGAL_OBJECT),
    ("migrant", ILLEGAL_OBJECT),
    ("migrants", ILLEGAL_OBJECT),
    ("extranjero", ILLEGAL_OBJECT),
    ("extranjeros", ILLEGAL_OBJECT),
    ("entry", ENTRY.or(IVF_CONTEXT)),
    ("reentry", ILLEGAL_OBJECT),
    ("entered", ENTRY),
    ("country", ILLEGAL_OBJECT),
    ("us", ILLEGAL_OBJECT),
    ("usa", ILLEGAL_OBJECT),
    ("imm", IMM_ABBREVIATION),
    ("enforcement", ENFORCEMENT_CUE),
    ("migracion", IMM_WORD),
    ("crossed", ILLEGAL_OBJECT),
    ("crosser", ILLEGAL_OBJECT),
    ("crossers", ILLEGAL_OBJECT),
    ("present", ILLEGAL_OBJECT),
    (
        "removal",
        REMOVAL
            .or(ADMIN_CONTEXT)
            .or(ENFORCEMENT_CUE)
            .or(ALIEN_CONTEXT),
    ),
    ("order", REMOVAL_CONTEXT),
    ("orders", REMOVAL_CONTEXT),
    ("proceeding", REMOVAL_CONTEXT),
    ("proceedings", REMOVAL_CONTEXT),
    ("operations", REMOVAL_CONTEXT),
    ("ops", REMOVAL_CONTEXT),
    ("flight", REMOVAL_CONTEXT),
    ("docket", REMOVAL_CONTEXT),
    ("case", REMOVAL_CONTEXT),
    ("subject", REMOVAL_CONTEXT),
    (
        "warrant",
        REMOVAL_CONTEXT.or(ADMIN_CONTEXT).or(ENFORCEMENT_CUE),
    ),
    (
        "warrants",
        REMOVAL_CONTEXT.or(ADMIN_CONTEXT).or(ENFORCEMENT_CUE),
    ),
    ("removable", REMOVABLE.or(ALIEN_CONTEXT)),
    ("administrative", ADMIN.or(ENFORCEMENT_CUE)),
    ("admin", ADMIN.or(ENFORCEMENT_CUE)),
    ("arrest", ADMIN_CONTEXT.or(ALIEN_CONTEXT)),
    ("target", ADMIN_CONTEXT.or(CAP_CONTEXT)),
    ("hold", ADMIN_CONTEXT.or(ENFORCEMENT_CUE)),
    ("visa", VISA),
    ("visas", VISA),
    ("overstay", VISA_CONTEXT),
    ("overstays", VISA_CONTEXT),
    ("overstayed", VISA_CONTEXT),
    ("overstaying", VISA_CONTEXT),
    ("overstayer", VISA_CONTEXT),
    ("lapsed", VISA_CONTEXT),
    ("revoked", VISA_CONTEXT),
    ("violation", VISA_CONTEXT),
    ("violator", VISA_CONTEXT.or(IVF_CONTEXT)),
    ("violators", VISA_CONTEXT.or(IVF_CONTEXT)),
    ("border", BORDER.or(ILLEGAL_OBJECT)),
    ("crossing", ILLEGAL_OBJECT),
    ("fronteriza", BORDER),
    ("patrol", PATROL),
    ("protection", PATROL),
    ("patrulla", PATROL),
    ("ivf", IVF),
    ("hit", IVF_CONTEXT),
    ("hits", IVF_CONTEXT),
    ("ncic", IVF_CONTEXT),
    ("hotlist", IVF_CONTEXT),
    ("alert", IVF_CONTEXT),
    ("file", IVF_CONTEXT),
    ("cap", CAP),
    ("referral", CAP_CONTEXT),
    ("program", CAP_CONTEXT),
    ("interview", CAP_CONTEXT),
    ("status", STATUS.or(ALIEN_CONTEXT)),
    ("estatus", STATUS),
    ("legal", STATUS_QUALIFIER.or(NOT_ENFORCEMENT_NEXT)),
    ("citizenship", CITIZENSHIP.or(STATUS_QUALIFIER)),
    ("check", CHECK.or(INSURANCE_CUE)),
    ("verify", CHECK),
    ("verification", CHECK),
    ("inquiry", CHECK),
    ("287", SECTION_287),
    ("g", LETTER_G),
    ("i", LETTER_I),
    ("form", FORM_WORD),
    ("usc", USC),
    ("1325", IMMIGRATION_CODE),
    ("1326", IMMIGRATION_CODE),
    ("1306", IMMIGRATION_CODE),
    ("1324", IMMIGRATION_CODE),
    ("1182", IMMIGRATION_CODE),
    ("1227", IMMIGRATION_CODE),
    ("1231", IMMIGRATION_CODE),
    ("1357", IMMIGRATION_CODE),
    ("sin", SIN),
    ("papeles", PAPELES),
    ("midway", OPERATION_WORD),
    ("blitz", OPERATION_WORD),
    ("tidal", OPERATION_WORD),
    ("wave", OPERATION_WORD),
    ("catahoula", OPERATION_WORD),
    ("crunch", OPERATION_WORD),
    ("abortion", REPRO),
    ("abortions", REPRO),
    ("aborto", REPRO),
    ("mifepristone", REPRO),
    ("misoprostol", REPRO),
    ("reproductive", REPRO_QUALIFIER),
    ("health", REPRO_OBJECT),
    ("healthcare", REPRO_OBJECT),
    ("care", REPRO_OBJECT),
    // Frozen water and the places and things it comes with.
    ("road", ICE_THING),
    ("roads", ICE_THING),
    ("roadway", ICE_THING),
    ("highway", ICE_THING),
    ("bridge", ICE_THING),
    ("sidewalk", ICE_THING),
    ("driveway", ICE_THING),
    ("storm", ICE_THING),
    ("snow", ICE_THING),
    ("sleet", ICE_THING),
    ("freezing", ICE_THING),
    ("frozen", ICE_THING),
    ("weather", ICE_THING),
    ("patch", ICE_THING),
    ("slick", ICE_THING),
    ("slippery", ICE_THING),
    ("rink", ICE_THING),
    ("arena", ICE_THING),
    ("skating", ICE_THING),
    ("skate", ICE_THING),
    ("hockey", ICE_THING),
    ("cream", ICE_THING),
    ("cube", ICE_THING),
    ("cubes", ICE_THING),
    ("machine", ICE_THING),
    ("maker", ICE_THING),
    ("cooler", ICE_THING),
    ("chest", ICE_THING),
    ("bag", ICE_THING),
    ("bags", ICE_THING),
    ("shaved", ICE_THING),
    ("pond", ICE_THING),
    ("lake", ICE_THING),
    ("fishing", ICE_THING),
    ("shanty", ICE_THING),
    ("melt", ICE_THING),
    ("salt", ICE_THING),
    ("skates", ICE_THING),
    ("mountain", ICE_THING),
    ("water", ICE_THING),
    // A vehicle's colour ("Color: Ice White"), as search filters and prompts name it.
    ("color", ICE_THING),
    ("colour", ICE_THING),
    ("paint", ICE_THING),
    // Falls and skids on ice ("slipped on ice" was refused), read only in that order.
    ("slipped", FELL_ON),
    ("slip", FELL_ON),
    ("fell", FELL_ON),
    ("fall", FELL_ON),
    ("tripped", FELL_ON),
    ("skid", FELL_ON),
    ("skidded", FELL_ON),
    ("slid", FELL_ON),
    ("slide", FELL_ON),
    ("sliding", FELL_ON),
    ("slipping", FELL_ON),
    ("skidding", FELL_ON),
    ("spun", FELL_ON),
    ("stuck", FELL_ON),
    ("control", FELL_ON),
    ("crash", FELL_ON),
    ("crashed", FELL_ON),
    // Things made of ice, read only straight after it ("ice packs stolen").
    ("scraper", ICE_NOUN),
    ("pack", ICE_NOUN),
    ("packs", ICE_NOUN),
    ("jam", ICE_NOUN),
    ("house", ICE_THING.or(PREMISES)),
    ("black", ICE_FROZEN_BEFORE),
    ("dry", ICE_FROZEN_BEFORE),
    ("thin", ICE_FROZEN_BEFORE),
    ("vanilla", ICE_FROZEN_BEFORE),
    // Drug slang and "in case of emergency".
    ("meth", ICE_OTHER.or(CRIMINAL_CONTEXT)),
    ("methamphetamine", ICE_OTHER.or(CRIMINAL_CONTEXT)),
    ("crystal", ICE_OTHER),
    ("narcotics", ICE_OTHER.or(CRIMINAL_CONTEXT)),
    ("narcotic", ICE_OTHER.or(CRIMINAL_CONTEXT)),
    ("drug", ICE_OTHER.or(CRIMINAL_CONTEXT)),
    ("drugs", ICE_OTHER.or(CRIMINAL_CONTEXT)),
    ("sale", ICE_OTHER),
    ("sell", ICE_OTHER),
    ("selling", ICE_OTHER),
    ("sold", ICE_OTHER),
    ("dealer", ICE_OTHER),
    ("dealing", ICE_OTHER),
    ("possession", ICE_OTHER),
    ("grams", ICE_OTHER),
    ("gram", ICE_OTHER),
    ("baggie", ICE_OTHER),
    ("pipe", ICE_OTHER),
    // Someone posing as ICE is a criminal case, and its victims are no business of ICE's.
    ("impersonation", ICE_OTHER.or(CRIMINAL_CONTEXT)),
    ("impersonating", ICE_OTHER.or(CRIMINAL_CONTEXT)),
    ("impersonator", ICE_OTHER.or(CRIMINAL_CONTEXT)),
    ("impersonators", ICE_OTHER.or(CRIMINAL_CONTEXT)),
    // Words that keep ICE the agency even beside drug or contact words.
    ("pickup", ENFORCEMENT_CUE),
    ("pick", ENFORCEMENT_CUE),
    (
        "locate",
        ENFORCEMENT_CUE.or(ALIEN_CONTEXT).or(REMOVAL_CONTEXT),
    ),
    ("request", ENFORCEMENT_CUE),
    ("assist", ENFORCEMENT_CUE),
    ("assisting", ENFORCEMENT_CUE),
    ("custody", ENFORCEMENT_CUE),
    ("release", ENFORCEMENT_CUE),
    ("notification", ENFORCEMENT_CUE),
    ("agent", ENFORCEMENT_CUE),
    ("agents", ENFORCEMENT_CUE),
    ("officer", ENFORCEMENT_CUE),
    ("officers", ENFORCEMENT_CUE),
    ("field", ENFORCEMENT_CUE),
    // Criminal or social-service work by agencies that also do immigration.
    ("trafficking", CRIMINAL_CONTEXT),
    ("trafficked", CRIMINAL_CONTEXT),
    ("exploitation", CRIMINAL_CONTEXT),
    ("child", CRIMINAL_CONTEXT),
    ("children", CRIMINAL_CONTEXT),
    ("csam", CRIMINAL_CONTEXT),
    ("pornography", CRIMINAL_CONTEXT),
    ("fentanyl", CRIMINAL_CONTEXT),
    ("cocaine", CRIMINAL_CONTEXT),
    ("heroin", CRIMINAL_CONTEXT),
    (
        "smuggling",
        CRIMINAL_CONTEXT.or(SMUGGLING).or(ALIEN_CONTEXT),
    ),
    ("smuggler", CRIMINAL_CONTEXT.or(SMUGGLING).or(ALIEN_CONTEXT)),
    (
        "smugglers",
        CRIMINAL_CONTEXT.or(SMUGGLING).or(ALIEN_CONTEXT),
    ),
    ("counterfeit", CRIMINAL_CONTEXT),
    ("fraud", CRIMINAL_CONTEXT.or(NOT_ENFORCEMENT_NEXT)),
    ("laundering", CRIMINAL_CONTEXT),
    ("firearms", CRIMINAL_CONTEXT),
    ("weapons", CRIMINAL_CONTEXT),
    ("cyber", CRIMINAL_CONTEXT),
    ("welfare", CRIMINAL_CONTEXT),
    ("benefits", CRIMINAL_CONTEXT),
    ("snap", CRIMINAL_CONTEXT),
    ("caseworker", CRIMINAL_CONTEXT),
    // "assault on ICE officer": the agency is the victim.
    ("at", PREPOSITION),
    ("on", PREPOSITION),
    ("against", PREPOSITION),
    ("near", PREPOSITION),
    ("outside", PREPOSITION),
    ("a", ARTICLE),
    ("an", ARTICLE),
    ("the", ARTICLE),
    ("assault", CRIME_AGAINST),
    ("assaulted", CRIME_AGAINST),
    ("battery", CRIME_AGAINST),
    ("vandalism", CRIME_AGAINST),
    ("vandalized", CRIME_AGAINST),
    ("graffiti", CRIME_AGAINST.or(VEHICLE_CONTEXT)),
    ("arson", CRIME_AGAINST),
    ("threat", CRIME_AGAINST),
    ("threats", CRIME_AGAINST),
    ("threatened", CRIME_AGAINST),
    ("attack", CRIME_AGAINST),
    ("attacked", CRIME_AGAINST),
    ("damage", CRIME_AGAINST),
    ("damaged", CRIME_AGAINST),
    ("trespass", CRIME_AGAINST),
    ("trespassing", CRIME_AGAINST),
    ("burglary", CRIME_AGAINST),
    ("theft", CRIME_AGAINST),
    ("robbery", CRIME_AGAINST),
    ("shooting", CRIME_AGAINST),
    ("protest", CRIME_AGAINST.or(NOT_ENFORCEMENT_NEXT)),
    // "immigration attorney", "immigration fraud": immigration as a topic, not a purpose.
    ("attorney", NOT_ENFORCEMENT_NEXT),
    ("attorneys", NOT_ENFORCEMENT_NEXT),
    ("lawyer", NOT_ENFORCEMENT_NEXT),
    ("lawyers", NOT_ENFORCEMENT_NEXT),
    ("law", NOT_ENFORCEMENT_NEXT),
    ("clinic", NOT_ENFORCEMENT_NEXT),
    ("scam", NOT_ENFORCEMENT_NEXT),
    ("scams", NOT_ENFORCEMENT_NEXT),
    ("consultant", NOT_ENFORCEMENT_NEXT),
    ("protests", NOT_ENFORCEMENT_NEXT),
    ("protester", NOT_ENFORCEMENT_NEXT),
    ("protesters", NOT_ENFORCEMENT_NEXT),
    ("rally", NOT_ENFORCEMENT_NEXT),
    ("march", NOT_ENFORCEMENT_NEXT),
    ("advocate", NOT_ENFORCEMENT_NEXT),
    ("advocates", NOT_ENFORCEMENT_NEXT),
    ("advocacy", NOT_ENFORCEMENT_NEXT),
    ("nonprofit", NOT_ENFORCEMENT_NEXT),
    ("provider", NOT_ENFORCEMENT_NEXT),
    ("anti", ANTI),
    ("victim", VICTIM),
    ("victims", VICTIM),
    ("victima", VICTIM),
    ("victimas", VICTIM),
    ("survivor", VICTIM),
    ("survivors", VICTIM),
    ("notario", VICTIM),
    ("u", VICTIM_VISA_LETTER),
    ("t", VICTIM_VISA_LETTER),
    ("i918", VICTIM_FORM),
    ("i914", VICTIM_FORM),
    ("918", VICTIM_FORM),
    ("914", VICTIM_FORM),
    // Supplement B, the certification itself ("I-918B", "I-914 Supp B").
    ("i918b", VICTIM_FORM.or(CERTIFY)),
    ("i914b", VICTIM_FORM.or(CERTIFY)),
    ("918b", VICTIM_FORM.or(CERTIFY)),
    ("914b", VICTIM_FORM.or(CERTIFY)),
    ("vawa", VICTIM_FORM),
    ("uvisa", VICTIM_FORM),
    ("tvisa", VICTIM_FORM),
    // Removal of things, not people.
    ("tow", VEHICLE_CONTEXT),
    ("towed", VEHICLE_CONTEXT),
    ("towing", VEHICLE_CONTEXT),
    ("vehicle", VEHICLE_CONTEXT.or(PREMISES)),
    ("vehicles", VEHICLE_CONTEXT),
    ("auto", VEHICLE_CONTEXT),
    ("car", VEHICLE_CONTEXT.or(PREMISES)),
    ("abandoned", VEHICLE_CONTEXT),
    ("debris", VEHICLE_CONTEXT),
    ("trash", VEHICLE_CONTEXT),
    ("tree", VEHICLE_CONTEXT),
    ("residence", PREMISES),
    ("residential", PREMISES),
    ("home", PREMISES),
    ("building", PREMISES),
    ("apartment", PREMISES),
    ("garage", PREMISES),
    ("store", PREMISES),
    ("business", PREMISES),
    ("property", PREMISES),
    ("dwelling", PREMISES),
    ("premises", PREMISES),
    ("school", PREMISES),
    ("card", CARD),
    ("cards", CARD),
    ("gift", CARD),
    ("debit", CARD),
    ("credit", CARD),
    ("giftcard", CARD),
    // Common words near the misspelling stems, listed so they skip the fuzzy check.
    ("investigation", Roles::NONE),
    ("investigations", Roles::NONE),
    ("information", Roles::NONE),
    ("intoxicated", Roles::NONE),
    ("individual", Roles::NONE),
    ("incident", Roles::NONE),
    ("intimidation", Roles::NONE),
    ("identification", Roles::NONE),
    ("department", Roles::NONE),
    ("deployment", Roles::NONE),
    ("undercover", Roles::NONE),
    ("integration", Roles::NONE),
    ("imitation", Roles::NONE),
    ("irrigation", Roles::NONE),
    ("migration", Roles::NONE),
    ("emigration", Roles::NONE),
    ("deportivo", Roles::NONE),
    ("documented", Roles::NONE),
];

// The forms of DHS civil process: administrative warrants (I-200, I-203, I-205, I-286),
// detainers (I-247 and variants), the arrest record (I-213), the notice to appear (I-862),
// the administrative subpoena (I-138) and release orders (I-220A/B).
const FORM_NUMBERS: &[&str] = &[
    "200", "203", "205", "286", "247", "247a", "247d", "247n", "247x", "213", "862", "138", "220a",
    "220b",
];

/// Stems whose misspellings still mean the stem; each with the roles of the stem.
const FUZZY_STEMS: &[(&str, Roles)] = &[
    ("immigration", IMM_WORD),
    ("inmigracion", IMM_WORD),
    ("undocumented", IMM_WORD),
    ("indocumentado", IMM_WORD),
    ("deportation", DEPORT),
    ("deportacion", DEPORT),
];

/// Prefixes that only begin immigration words, so truncations (`immig`, `immigr`) and
/// suffixed forms (`immigrations`) count.
const IMMIGRATION_PREFIXES: &[&str] = &["immig", "inmig", "imig"];

/// Words that name immigration enforcement by themselves (agencies, "immigration",
/// "deport", detainer, alien, INS), for a keyword baseline that scans with a regex.
pub(crate) fn keywords() -> Vec<&'static str> {
    const STRONG: Roles = ICE
        .or(AGENCY)
        .or(AGENCY_MIXED)
        .or(IMM_WORD)
        .or(DEPORT)
        .or(CIVIL_PROCESS)
        .or(DETAINER)
        .or(ALIEN)
        .or(INS_WORD);
    let mut v: Vec<&'static str> = TABLE
        .iter()
        .filter(|(_, r)| r.has(STRONG))
        .map(|(w, _)| *w)
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

type FxBuild = BuildHasherDefault<FxHasher>;

/// The lookup table from a normalized word to its roles.
pub(crate) struct Lexicon {
    words: HashMap<&'static [u8], Roles, FxBuild>,
}

impl Lexicon {
    pub fn new() -> Self {
        let mut words: HashMap<&'static [u8], Roles, FxBuild> = HashMap::default();
        for (word, roles) in TABLE {
            let entry = words.entry(word.as_bytes()).or_default();
            *entry = entry.or(*roles);
        }
        for number in FORM_NUMBERS {
            let entry = words.entry(number.as_bytes()).or_default();
            *entry = entry.or(FORM_NUMBER);
        }
        Lexicon { words }
    }

    /// The roles of a normalized (lower-case, accent-folded) word.
    pub fn classify(&self, word: &[u8]) -> Roles {
        if let Some(roles) = self.words.get(word) {
            return *roles;
        }
        if is_form_word(word) {
            return CIVIL_PROCESS;
        }
        if IMMIGRATION_PREFIXES
            .iter()
            .any(|p| word.starts_with(p.as_bytes()) && word.len() >= 5)
        {
            return IMM_WORD;
        }
        if is_deport_form(word) {
            return DEPORT;
        }
        fuzzy(word)
    }
}

/// A form of "deport" the table lacks ("deportarlo", "deportee", "deportations"), but not
/// the Spanish words for sport ("deportivo", "deportes", "deportista").
fn is_deport_form(word: &[u8]) -> bool {
    let Some(rest) = word.strip_prefix(b"deport") else {
        return false;
    };
    // Not the sports words, nor "deportment" (conduct).
    let sport = rest.starts_with(b"iv")
        || rest.starts_with(b"ist")
        || rest.starts_with(b"ment")
        || rest == b"es"
        || rest == b"e";
    !rest.is_empty() && !sport
}

/// Sections of Title 8 (Aliens and Nationality) that are immigration enforcement, for
/// citations written as one word (`8USC1326`).
const TITLE_8_SECTIONS: &[&str] = &[
    "1182", "1227", "1231", "1306", "1324", "1325", "1326", "1357",
];

/// `i200`, `i247a`: a DHS civil-process form number written without a separator;
/// `8usc1326`, `usc1325`: a Title 8 citation written as one word.
fn is_form_word(word: &[u8]) -> bool {
    if let Some(rest) = word
        .strip_prefix(b"8usc")
        .or_else(|| word.strip_prefix(b"usc"))
    {
        return TITLE_8_SECTIONS
            .iter()
            .any(|n| rest.starts_with(n.as_bytes()));
    }
    match word.split_first() {
        Some((b'i', rest)) => FORM_NUMBERS.iter().any(|n| n.as_bytes() == rest),
        _ => false,
    }
}

/// Misspellings: within one edit of a stem (two for stems of eleven letters or more), for
/// words long enough that such closeness is not chance.
fn fuzzy(word: &[u8]) -> Roles {
    if word.len() < 8 || word.len() > 14 || !word.iter().all(u8::is_ascii_lowercase) {
        return Roles::NONE;
    }
    for (stem, roles) in FUZZY_STEMS {
        let stem = stem.as_bytes();
        let budget = if word.len() >= 11 && stem.len() >= 11 {
            2
        } else {
            1
        };
        if word[0] == stem[0] && within_edits(word, stem, budget) {
            return *roles;
        }
    }
    Roles::NONE
}

/// Optimal-string-alignment distance (insertions, deletions, substitutions, adjacent
/// transpositions) is at most `budget`.
fn within_edits(a: &[u8], b: &[u8], budget: usize) -> bool {
    if a.len().abs_diff(b.len()) > budget {
        return false;
    }
    const W: usize = 16;
    if a.len() >= W || b.len() >= W {
        return false;
    }
    let mut prev2 = [0usize; W];
    let mut prev = [0usize; W];
    let mut row = [0usize; W];
    for (j, cell) in prev.iter_mut().enumerate().take(b.len() + 1) {
        *cell = j;
    }
    for i in 1..=a.len() {
        row[0] = i;
        let mut best = row[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(row[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(prev2[j - 2] + 1);
            }
            row[j] = d;
            best = best.min(d);
        }
        if best > budget {
            return false;
        }
        prev2 = prev;
        prev = row;
    }
    prev[b.len()] <= budget
}

/// A small multiplicative hasher: the keys are short, trusted words (or values already
/// hashed), so SipHash's flood resistance buys nothing and costs most of a lookup. Shared
/// with the audit's per-row maps.
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Whole words read as one load; the tail, zero-padded, as before.
        let mut words = bytes.chunks_exact(8);
        for chunk in &mut words {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let tail = words.remainder();
        if !tail.is_empty() {
            let mut word = [0u8; 8];
            word[..tail.len()].copy_from_slice(tail);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl std::ops::BitOr for Roles {
    type Output = Roles;

    fn bitor(self, other: Roles) -> Roles {
        self.or(other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Maps built with this hasher are merged in their iteration order, so a faster
    /// `write` must give the very hashes of the word-by-word one.
    #[test]
    fn fx_hashes_of_bytes_are_the_zero_padded_word_by_word_ones() {
        let text: Vec<u8> = (0u8..=40).map(|b| b.wrapping_mul(37)).collect();
        for len in 0..text.len() {
            let mut want = FxHasher::default();
            for chunk in text[..len].chunks(8) {
                let mut word = [0u8; 8];
                word[..chunk.len()].copy_from_slice(chunk);
                want.add(u64::from_le_bytes(word));
            }
            let mut got = FxHasher::default();
            got.write(&text[..len]);
            assert_eq!(got.finish(), want.finish(), "{len} bytes");
        }
    }

    #[test]
    fn misspellings_of_immigration_are_recognized_but_near_words_are_not() {
        let lexicon = Lexicon::new();
        for word in [
            "imigration",
            "immigation",
            "immagration",
            "inmigration",
            "immigratoin",
        ] {
            assert!(lexicon.classify(word.as_bytes()).has(IMM_WORD), "{word}");
        }
        for word in [
            "migration",
            "irrigation",
            "imitation",
            "integration",
            "importation",
        ] {
            assert!(!lexicon.classify(word.as_bytes()).has(IMM_WORD), "{word}");
        }
    }

    #[test]
    fn deportivo_is_not_deportation() {
        let lexicon = Lexicon::new();
        assert!(!lexicon.classify(b"deportivo").has(DEPORT));
        assert!(lexicon.classify(b"deportaton").has(DEPORT));
    }
}
