"""What the world's sites make: each sector's share of the sites and the product codes a site of it
gets on each platform (UNSPSC on Sedex, GICS on amfori), and the words company names are made of, by
sector and language (Chinese local names are composed apart, from city, brand and sector).
"""

from __future__ import annotations

from typing import Final

from schemas.taxonomy import Sector

# Sector: (weight, UNSPSC codes, GICS codes). Every code maps back to
# its sector under the taxonomy's crosswalk (tests/simulator/test_world.py), so a crosswalk revision
# cannot silently skew the mix.
SECTOR_CODES: Final[dict[Sector, tuple[float, tuple[str, ...], tuple[str, ...]]]] = {
    Sector.APPAREL_TEXTILES: (
        40,
        ("53101502", "53101602", "53102502", "11161800", "11162100"),
        ("25203010", "25203030"),
    ),
    Sector.FOOTWEAR_LEATHER: (9, ("53111600", "53111900", "53121600"), ("25203020",)),
    Sector.FOOD_AGRICULTURE: (
        12,
        ("50201706", "50301500", "10151500", "50461800"),
        ("30202010", "30202030", "30201030"),
    ),
    Sector.ELECTRONICS: (
        10,
        ("52141500", "43211500", "32101600", "43222600"),
        ("25201010", "25201040", "45203010"),
    ),
    Sector.HOME_FURNITURE: (7, ("56101500", "56101700"), ("25201020", "25201050")),
    Sector.TOYS_LEISURE: (6, ("60141000", "49161500", "60141100"), ("25202010",)),
    Sector.PERSONAL_CARE_CHEMICALS: (5, ("53131600", "12161500", "47131800"), ("30302010", "15101010")),
    Sector.PACKAGING_PAPER: (5, ("14111500", "24121500", "14121800"), ("15103010", "15105020")),
    Sector.OTHER: (6, ("25101500", "39101600", "30101500"), ("20101010", "35101010", "25101010")),
}

# Words for company names by sector, one row per sector and in each row one cell per language of
# _LANGUAGES, the words of a cell separated by "|". Countries of other languages (zh, id) use the
# English words.
_LANGUAGES: Final = ("en", "vi", "tr", "es", "pt", "it", "fr")
_WORDS: Final[dict[Sector, tuple[str, ...]]] = {
    Sector.APPAREL_TEXTILES: (
        "Knit-Wear|Garments|Apparels|Fashions|Textile Mills|Denim",  # en
        "May|Dệt May|May Mặc",  # vi
        "Tekstil|Konfeksiyon|Örme|İplik",  # tr
        "Textiles|Confecciones|Maquiladora",  # es
        "Têxteis|Confecções|Malhas",  # pt
        "Tessile|Abbigliamento",  # it
        "Textile|Confection|Bonneterie",  # fr
    ),
    Sector.FOOTWEAR_LEATHER: (
        "Footwear|Leather Goods|Shoes",
        "Giày Da|Da Giày",
        "Deri|Ayakkabı",
        "Calzado|Curtiduría",
        "Calçados|Couros",
        "Calzature|Pelletteria",
        "Chaussures|Maroquinerie",
    ),
    Sector.FOOD_AGRICULTURE: (
        "Foods|Agro Products|Tea Estates|Seafood",
        "Thực phẩm|Thủy sản",
        "Gıda|Tarım Ürünleri",
        "Alimentos|Agrícola",
        "Alimentos|Agroindústria",
        "Alimentari",
        "Agroalimentaire|Conserverie",
    ),
    Sector.ELECTRONICS: (
        "Electronics|Electricals|Circuits",
        "Điện tử",
        "Elektronik",
        "Electrónica",
        "Eletrônicos",
        "Elettronica",
        "Électronique|Câblage",
    ),
    Sector.HOME_FURNITURE: (
        "Furniture|Home Textiles|Woodcraft",
        "Nội thất|Gỗ",
        "Mobilya|Ev Tekstili",
        "Muebles",
        "Móveis|Cama, Mesa e Banho",
        "Arredamenti",
        "Meubles",
    ),
    Sector.TOYS_LEISURE: (
        "Toys|Sports Goods|Leisure Products",
        "Đồ chơi",
        "Oyuncak",
        "Juguetes",
        "Brinquedos",
        "Giocattoli",
        "Jouets",
    ),
    Sector.PERSONAL_CARE_CHEMICALS: (
        "Cosmetics|Chemicals|Soap Works",
        "Mỹ phẩm|Hóa chất",
        "Kozmetik|Kimya",
        "Cosméticos|Químicos",
        "Cosméticos|Química",
        "Cosmetici",
        "Cosmétiques",
    ),
    Sector.PACKAGING_PAPER: (
        "Packaging|Paper Products|Cartons",
        "Bao bì",
        "Ambalaj",
        "Empaques|Cartonera",
        "Embalagens",
        "Imballaggi|Cartiera",
        "Emballage",
    ),
    Sector.OTHER: (
        "Industries|Engineering|Metal Works",
        "Cơ khí",
        "Makina",
        "Metalmecánica",
        "Metalúrgica",
        "Meccanica",
        "Mécanique",
    ),
}
SECTOR_WORDS: Final[dict[str, dict[Sector, tuple[str, ...]]]] = {
    language: {sector: tuple(cells[i].split("|")) for sector, cells in _WORDS.items()}
    for i, language in enumerate(_LANGUAGES)
}

# Chinese local names are composed from the city and sector; other countries send their Latin name.
ZH_CITY: Final[dict[str, str]] = {
    "Dongguan": "东莞",
    "Ningbo": "宁波",
    "Shaoxing": "绍兴",
    "Guangzhou": "广州",
    "Shenzhen": "深圳",
    "Xiamen": "厦门",
    "Qingdao": "青岛",
}
ZH_SECTOR: Final[dict[Sector, str]] = {
    Sector.APPAREL_TEXTILES: "服装",
    Sector.FOOTWEAR_LEATHER: "鞋业",
    Sector.FOOD_AGRICULTURE: "食品",
    Sector.ELECTRONICS: "电子",
    Sector.HOME_FURNITURE: "家具",
    Sector.TOYS_LEISURE: "玩具",
    Sector.PERSONAL_CARE_CHEMICALS: "日化",
    Sector.PACKAGING_PAPER: "包装",
    Sector.OTHER: "机械",
}
ZH_BRAND: Final[tuple[str, ...]] = (
    "金辉",
    "恒利",
    "永新",
    "华美",
    "天一",
    "信达",
    "宝龙",
    "瑞丰",
    "海星",
    "旭日",
)
