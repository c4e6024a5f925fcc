"""The countries the world's suppliers are in, with what a site there is made of: cities and their
postal-code prefixes, street templates, brand words and legal-form suffixes for company names, the
language those names are in, people's names for the findings' free text, how much of the world is
there and how prone its sites are to findings.

Data written for what the exchange must cope with (diacritics, punctuation, missing postal codes),
compacted as ``|``-separated strings so that a country reads on one screen; `_c` unpacks them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Country:
    alpha2: str
    numeric: str
    name: str
    weight: float
    risk: float
    """Mean propensity for findings, so aggregates differ between countries."""
    cities: tuple[tuple[str, str], ...]
    """(city, postal-code prefix); an empty prefix means the country's sites often send no postal code."""
    streets: tuple[str, ...]
    brands: tuple[str, ...]
    suffixes: tuple[str, ...]
    language: str
    people: tuple[str, ...]


def _c(
    alpha2: str,
    numeric: str,
    name: str,
    weight: float,
    risk: float,
    cities: str,
    streets: str,
    brands: str,
    suffixes: str,
    language: str,
    people: str,
) -> Country:
    return Country(
        alpha2,
        numeric,
        name,
        weight,
        risk,
        tuple((c.split(":")[0], c.split(":")[1]) for c in cities.split("|")),
        tuple(streets.split("|")),
        tuple(brands.split("|")),
        tuple(suffixes.split("|")),
        language,
        tuple(people.split("|")),
    )


# Street templates: {n} house/plot number, {m} road number, {b} block letter.
COUNTRIES: Final[tuple[Country, ...]] = (
    _c(
        "BD",
        "050",
        "Bangladesh",
        12,
        0.65,
        "Dhaka:12|Gazipur:17|Narayanganj:14|Chattogram:40|Savar:13|Ashulia:13",
        "Plot {n}, Road {m}, Sector {b}|House {n}, Road {m}, Block-{b}|{n}/{b} Tongi Industrial Area|"
        "Holding No. {n}, Kashimpur Road|BSCIC I/A, Plot {n}-{m}",
        "Dhaka|Meghna|Padma|Rupsha|Karnaphuli|Jamuna|Sonargaon|Surma|Shapla|Nilkhet|Teesta|Barind",
        "Ltd.|Limited|(Pvt.) Ltd.|Ltd",
        "en",
        "Rahim Uddin|Nasrin Akter|Md. Karim Hossain|Shirin Begum|Abdul Kalam|Fatema Khatun|Rubel Mia",
    ),
    _c(
        "CN",
        "156",
        "China",
        12,
        0.55,
        "Dongguan:5230|Ningbo:3150|Shaoxing:3120|Guangzhou:5100|Shenzhen:5180|Xiamen:3610|Qingdao:2660",
        "No. {n} Xingye Road, {b} District|Building {m}, No. {n} Gongye Avenue|"
        "No. {n}-{m} Huancheng North Road|"
        "Room {n}0{m}, Jinhai Industrial Park|No. {n} Chang'an Road, Zone {b}",
        "Sunrise|Jinhui|Hengli|Yongxin|Huamei|Dragonfly|Golden Crane|Tianyi|Xinda|Baolong|Ruifeng|Haixing",
        "Co., Ltd.|Co. Ltd|Industrial Co., Ltd.|Manufacturing Co., Ltd.",
        "zh",
        "Wang Fang|Li Wei|Zhang Min|Liu Yang|Chen Jing|Zhao Lei|Huang Xiuying",
    ),
    _c(
        "IN",
        "356",
        "India",
        10,
        0.6,
        "Tiruppur:6416|Bengaluru:5600|Noida:2013|Ludhiana:1410|Chennai:6000|Panipat:1321|Kanpur:2080",
        "Plot No. {n}, Phase-{m}, SIPCOT|{n}/{m}, Avinashi Road|Survey No. {n}, Sector {m}-{b}|"
        "Khasra No. {n}, G.T. Road|{n}, {m}th Cross, Peenya Industrial Area",
        "Shree Ganesh|Laxmi|Arvind|Saraswati|Kaveri|Ganga|Vardhman|Nandini|Surya|Mahalaxmi|Trident|Indus",
        "Pvt. Ltd.|Private Limited|Exports Pvt Ltd|(P) Ltd.",
        "en",
        "Ramesh Kumar|Priya Sharma|Suresh Babu|Lakshmi Devi|Anil Verma|Kavitha R.|Mohammed Irfan",
    ),
    _c(
        "VN",
        "704",
        "Viet Nam",
        8,
        0.5,
        "Hồ Chí Minh:700|Bình Dương:820|Đồng Nai:810|Hà Nội:100|Hải Phòng:180|Nam Định:420",
        "Lô {b}-{n}, KCN Tân Bình|Số {n}, Đường số {m}, KCN Sóng Thần|Lô {n}, Đường {m}, KCN Nhơn Trạch|"
        "Số {n} Quốc lộ {m}, Phường {b}",
        "Việt Tiến|Phước Thịnh|Hòa Bình|Thành Công|Đông Á|Tân Phú|Minh Anh|Hưng Phát|Sông Hồng|Bảo Long",
        "Công ty TNHH|Công ty Cổ phần",
        "vi",
        "Nguyễn Thị Lan|Trần Văn Hùng|Lê Thị Mai|Phạm Minh Tuấn|Hoàng Thị Hoa|Đặng Quốc Bảo",
    ),
    _c(
        "TR",
        "792",
        "Türkiye",
        7,
        0.4,
        "İstanbul:34|Bursa:16|Denizli:20|Adana:01|İzmir:35|Gaziantep:27|Kahramanmaraş:46",
        "Organize Sanayi Bölgesi {m}. Cadde No:{n}|Atatürk Bulvarı No. {n}/{b}|Çalışkan Sokak No:{n} Kat:{m}|"
        "{m}. Organize Sanayi, {n}. Sokak No: {n}",
        "Çukurova|Ege|Başak|Yıldız|Gökçe|Akdeniz|Doğan|Özgür|Karadeniz|Şahin|Işık|Güneş",
        "A.Ş.|Ltd. Şti.|San. ve Tic. A.Ş.|Sanayi ve Ticaret Ltd. Şti.",
        "tr",
        "Ayşe Yılmaz|Mehmet Öztürk|Fatma Şahin|Mustafa Çelik|Zeynep Kaya|Hüseyin Doğan",
    ),
    _c(
        "PK",
        "586",
        "Pakistan",
        5,
        0.6,
        "Faisalabad:380|Sialkot:513|Lahore:540|Karachi:745",
        "Plot {n}, Sector {m}-{b}, Korangi Industrial Area|{n}-KM Sheikhupura Road|"
        "Plot No. {n}, Street {m}, SITE Area|Small Industrial Estate, Plot {n}/{b}",
        "Al-Karam|Nishat|Crescent|Sapphire|Kohinoor|Indus Valley|Ravi|Chenab|Gulshan|Shalimar",
        "(Pvt.) Ltd.|Pvt Ltd.|Industries (Pvt.) Limited",
        "en",
        "Muhammad Asif|Ayesha Bibi|Imran Khan Niazi|Saima Noreen|Tariq Mehmood",
    ),
    _c(
        "KH",
        "116",
        "Cambodia",
        4,
        0.55,
        "Phnom Penh:120|Kampong Speu:050|Kandal:080|Sihanoukville:180",
        "National Road No. {m}, Phum {b}, Sangkat Chaom Chau|Lot {n}, Phnom Penh SEZ|"
        "#{n}, St. {m}0{n}, Khan Meanchey",
        "Angkor|Mekong|Tonle|Bayon|Lotus|Apsara|Kampuchea|Preah Vihear",
        "Garment Co., Ltd.|(Cambodia) Co., Ltd.|Co., Ltd.",
        "en",
        "Sok Chanthy|Chea Sophal|Srey Mom|Kim Vuthy|Ly Sreynich",
    ),
    _c(
        "ID",
        "360",
        "Indonesia",
        5,
        0.45,
        "Bandung:40|Semarang:50|Bekasi:17|Tangerang:15|Surabaya:60|Jepara:59",
        "Jl. Raya Industri No. {n}, Blok {b}-{m}|Kawasan Industri Jababeka, Jl. {b} No. {n}|"
        "Jl. Soekarno-Hatta Km {m} No. {n}",
        "Sinar Jaya|Maju Bersama|Karya Abadi|Mitra Sejati|Cahaya|Sentosa|Bintang|Nusantara|Garuda",
        "PT|PT.",
        "id",
        "Siti Rahayu|Budi Santoso|Dewi Lestari|Agus Setiawan|Sri Wahyuni",
    ),
    _c(
        "MX",
        "484",
        "Mexico",
        3,
        0.35,
        "León:37|Puebla:72|Tehuacán:75|Guadalajara:44|Monterrey:64|Ciudad Juárez:32",
        "Blvd. Adolfo López Mateos {n}, Col. Centro|Av. Reforma Nº {n}-{b}|"
        "Calle {m} de Mayo #{n}, Parque Industrial|"
        "Carretera Federal {m} Km {n}.5",
        "Peña|Azteca|Montaña|Río Bravo|Cañada|Jalisco|Sierra Madre|Del Bajío|Los Ángeles|Maquilas Núñez",
        "S.A. de C.V.|S. de R.L. de C.V.",
        "es",
        "María Guadalupe Hernández|José Luis Martínez|Verónica Ramírez|Juan Pérez Ortega|Ana Sofía Núñez",
    ),
    _c(
        "BR",
        "076",
        "Brazil",
        3,
        0.35,
        "São Paulo:01|Blumenau:89|Franca:14|Fortaleza:60|Novo Hamburgo:93|Brusque:88",
        "Rua {b}. Conceição, {n}|Av. Presidente Getúlio Vargas, {n} - Galpão {m}|Rodovia BR-{m}0{n}, Km {n}|"
        "Rua São João, nº {n}, Bloco {b}",
        "São José|Paraná|Açaí|Itajaí|Coração|Três Irmãos|Estrela|Guaraná|Bahia|Paulistana",
        "Ltda.|S.A.|Indústria e Comércio Ltda.",
        "pt",
        "João da Silva|Maria José Souza|Antônio Pereira|Francisca Araújo|Luíza Gonçalves",
    ),
    _c(
        "IT",
        "380",
        "Italy",
        2,
        0.2,
        "Prato:591|Biella:139|Carpi:410|Como:221|Vigevano:270|Napoli:801",
        "Via dell'Industria {n}|Via G. Garibaldi, {n}/{b}|Viale Europa {n}, Zona Ind. {m}|"
        "Piazza Unità d'Italia {n}",
        "Lanificio Bellè|Tessitura Città|Calzificio Però|Maglificio Niccolò|Pelletteria Forlì|Tintoria Mazzà",
        "S.r.l.|S.p.A.|S.n.c.",
        "it",
        "Giulia Rossi|Marco Bianchi|Francesca Esposito|Luca Ricci|Chiara Colombo",
    ),
    _c(
        "PT",
        "620",
        "Portugal",
        2,
        0.2,
        "Guimarães:48|Braga:47|Barcelos:47|Felgueiras:46|Porto:40|São João da Madeira:37",
        "Rua da Indústria, n.º {n}|Av. de São Miguel, {n} - {b}|Lugar de Pousada, Lote {n}|"
        "Rua Cónego {b}. Gonçalves {n}",
        "Têxteis São João|Confecções Conceição|Malhas Guimarães|Calçado Araújo|Fiação Azêmola|"
        "Tecidos Gonçalo",
        "Lda.|S.A.|Unipessoal Lda.",
        "pt",
        "Ana Gonçalves|João Magalhães|Inês Conceição|Luís Araújo|Beatriz Simões",
    ),
    _c(
        "MA",
        "504",
        "Morocco",
        2,
        0.4,
        "Tanger:90|Casablanca:20|Fès:30|Marrakech:40|Salé:11",
        "Zone Franche d'Exportation, Lot {n}|Quartier Industriel Aïn Sebaâ, Rue {m} N° {n}|"
        "Km {m}, Route de Tétouan, Lot {n}-{b}|Lotissement El Majd, N° {n}",
        "Atlas|Chefchaouen|Rif Textile|Sahara|Al Majd|Dar Essalam|Oasis|Tafilalet",
        "SARL|S.A.|SARL AU",
        "fr",
        "Fatima Zahra El Idrissi|Mohamed Benali|Khadija Amrani|Youssef El Fassi|Naïma Berrada",
    ),
    _c(
        "ET",
        "231",
        "Ethiopia",
        2,
        0.5,
        "Hawassa:0|Addis Ababa:1000|Mekelle:0|Bahir Dar:0",
        "Hawassa Industrial Park, Shed {n}|Kebele {m}, House No. {n}|Bole Lemi Industrial Park, Shed {n}-{b}",
        "Abyssinia|Blue Nile|Habesha|Rift Valley|Lucy|Entoto|Simien|Axum",
        "PLC|Manufacturing PLC|Share Company",
        "en",
        "Tigist Alemu|Abebe Bekele|Meseret Haile|Dawit Tesfaye|Hirut Girma",
    ),
    _c(
        "LK",
        "144",
        "Sri Lanka",
        3,
        0.35,
        "Katunayake:11|Biyagama:11|Koggala:80|Kandy:20|Horana:12",
        "No. {n}, Export Processing Zone, Phase {m}|{n}/{b}, Colombo Road|No. {n}, Kandy Road, Kelaniya",
        "Ceylon|Lanka|Serendib|Ruhuna|Sigiriya|Kelani|Nuwara|Galle Face",
        "(Pvt) Ltd|PLC|(Private) Limited",
        "en",
        "Nimali Perera|Kasun Fernando|Dilani Jayasinghe|Chaminda Silva|Anoma Wickramasinghe",
    ),
)

COUNTRY_BY_ALPHA2: Final[dict[str, Country]] = {c.alpha2: c for c in COUNTRIES}
