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

SECTOR_WORDS: Final[dict[str, dict[Sector, tuple[str, ...]]]] = {
    "en": {
        Sector.APPAREL_TEXTILES: ("Knit-Wear", "Garments", "Apparels", "Fashions", "Textile Mills", "Denim"),
        Sector.FOOTWEAR_LEATHER: ("Footwear", "Leather Goods", "Shoes"),
        Sector.FOOD_AGRICULTURE: ("Foods", "Agro Products", "Tea Estates", "Seafood"),
        Sector.ELECTRONICS: ("Electronics", "Electricals", "Circuits"),
        Sector.HOME_FURNITURE: ("Furniture", "Home Textiles", "Woodcraft"),
        Sector.TOYS_LEISURE: ("Toys", "Sports Goods", "Leisure Products"),
        Sector.PERSONAL_CARE_CHEMICALS: ("Cosmetics", "Chemicals", "Soap Works"),
        Sector.PACKAGING_PAPER: ("Packaging", "Paper Products", "Cartons"),
        Sector.OTHER: ("Industries", "Engineering", "Metal Works"),
    },
    "zh": {},
    "id": {},
    "vi": {
        Sector.APPAREL_TEXTILES: ("May", "Dệt May", "May Mặc"),
        Sector.FOOTWEAR_LEATHER: ("Giày Da", "Da Giày"),
        Sector.FOOD_AGRICULTURE: ("Thực phẩm", "Thủy sản"),
        Sector.ELECTRONICS: ("Điện tử",),
        Sector.HOME_FURNITURE: ("Nội thất", "Gỗ"),
        Sector.TOYS_LEISURE: ("Đồ chơi",),
        Sector.PERSONAL_CARE_CHEMICALS: ("Mỹ phẩm", "Hóa chất"),
        Sector.PACKAGING_PAPER: ("Bao bì",),
        Sector.OTHER: ("Cơ khí",),
    },
    "tr": {
        Sector.APPAREL_TEXTILES: ("Tekstil", "Konfeksiyon", "Örme", "İplik"),
        Sector.FOOTWEAR_LEATHER: ("Deri", "Ayakkabı"),
        Sector.FOOD_AGRICULTURE: ("Gıda", "Tarım Ürünleri"),
        Sector.ELECTRONICS: ("Elektronik",),
        Sector.HOME_FURNITURE: ("Mobilya", "Ev Tekstili"),
        Sector.TOYS_LEISURE: ("Oyuncak",),
        Sector.PERSONAL_CARE_CHEMICALS: ("Kozmetik", "Kimya"),
        Sector.PACKAGING_PAPER: ("Ambalaj",),
        Sector.OTHER: ("Makina",),
    },
    "es": {
        Sector.APPAREL_TEXTILES: ("Textiles", "Confecciones", "Maquiladora"),
        Sector.FOOTWEAR_LEATHER: ("Calzado", "Curtiduría"),
        Sector.FOOD_AGRICULTURE: ("Alimentos", "Agrícola"),
        Sector.ELECTRONICS: ("Electrónica",),
        Sector.HOME_FURNITURE: ("Muebles",),
        Sector.TOYS_LEISURE: ("Juguetes",),
        Sector.PERSONAL_CARE_CHEMICALS: ("Cosméticos", "Químicos"),
        Sector.PACKAGING_PAPER: ("Empaques", "Cartonera"),
        Sector.OTHER: ("Metalmecánica",),
    },
    "pt": {
        Sector.APPAREL_TEXTILES: ("Têxteis", "Confecções", "Malhas"),
        Sector.FOOTWEAR_LEATHER: ("Calçados", "Couros"),
        Sector.FOOD_AGRICULTURE: ("Alimentos", "Agroindústria"),
        Sector.ELECTRONICS: ("Eletrônicos",),
        Sector.HOME_FURNITURE: ("Móveis", "Cama, Mesa e Banho"),
        Sector.TOYS_LEISURE: ("Brinquedos",),
        Sector.PERSONAL_CARE_CHEMICALS: ("Cosméticos", "Química"),
        Sector.PACKAGING_PAPER: ("Embalagens",),
        Sector.OTHER: ("Metalúrgica",),
    },
    "it": {
        Sector.APPAREL_TEXTILES: ("Tessile", "Abbigliamento"),
        Sector.FOOTWEAR_LEATHER: ("Calzature", "Pelletteria"),
        Sector.FOOD_AGRICULTURE: ("Alimentari",),
        Sector.ELECTRONICS: ("Elettronica",),
        Sector.HOME_FURNITURE: ("Arredamenti",),
        Sector.TOYS_LEISURE: ("Giocattoli",),
        Sector.PERSONAL_CARE_CHEMICALS: ("Cosmetici",),
        Sector.PACKAGING_PAPER: ("Imballaggi", "Cartiera"),
        Sector.OTHER: ("Meccanica",),
    },
    "fr": {
        Sector.APPAREL_TEXTILES: ("Textile", "Confection", "Bonneterie"),
        Sector.FOOTWEAR_LEATHER: ("Chaussures", "Maroquinerie"),
        Sector.FOOD_AGRICULTURE: ("Agroalimentaire", "Conserverie"),
        Sector.ELECTRONICS: ("Électronique", "Câblage"),
        Sector.HOME_FURNITURE: ("Meubles",),
        Sector.TOYS_LEISURE: ("Jouets",),
        Sector.PERSONAL_CARE_CHEMICALS: ("Cosmétiques",),
        Sector.PACKAGING_PAPER: ("Emballage",),
        Sector.OTHER: ("Mécanique",),
    },
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
