"""Names and ethnicities: pools that produce the spellings record linkage has to survive.

Pools are grouped by naming tradition and tied to CBDS ethnicity codes, so that a child's names
are plausible together. They deliberately include what breaks naive matching: apostrophes,
hyphenated and double-barrelled surnames, diacritics (all encodable in Windows-1252, because the
education export is), and forenames with common nicknames or transliterations.
"""

from __future__ import annotations

import numpy as np

# Forenames (boys, girls) and surnames per naming tradition.
POOLS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "british": (
        ("Oliver", "George", "Harry", "Jack", "Jacob", "Noah", "Charlie", "Thomas", "Oscar", "William",
         "James", "Henry", "Leo", "Alfie", "Joshua", "Freddie", "Archie", "Ethan", "Isaac", "Alexander",
         "Joseph", "Edward", "Samuel", "Max", "Daniel", "Arthur", "Lucas", "Mason", "Logan", "Theo",
         "Harrison", "Benjamin", "Dylan", "Jayden", "Riley", "Finley", "Tyler", "Lewis", "Matthew",
         "Callum", "Connor", "Kieran", "Jamie", "Ryan", "Liam", "Luke", "Adam", "Owen", "Reuben",
         "Tommy-Lee", "Kai", "Zachary", "Louie", "Bobby", "Teddy", "Elliot", "Toby", "Rhys", "Aaron",
         "Nathan"),
        ("Olivia", "Amelia", "Isla", "Ava", "Emily", "Sophia", "Grace", "Mia", "Poppy", "Ella", "Lily",
         "Evie", "Isabella", "Sophie", "Ivy", "Freya", "Harper", "Willow", "Charlotte", "Jessica", "Chloé",
         "Ruby", "Daisy", "Phoebe", "Matilda", "Florence", "Scarlett", "Elizabeth", "Katherine", "Rebecca",
         "Abigail", "Megan", "Holly", "Lucy", "Amy", "Hannah", "Ellie", "Zoë", "Millie", "Layla", "Rosie",
         "Maisie", "Lacey-Mae", "Ellie-May", "Summer", "Niamh", "Erin", "Eleanor", "Esmé", "Renée", "Molly",
         "Imogen", "Georgia", "Jasmine", "Leah", "Kayleigh", "Courtney", "Bethany", "Victoria"),
        ("Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas", "Johnson",
         "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards", "Hughes", "Green",
         "Hall", "Lewis", "Harris", "Clarke", "Jackson", "Wood", "Turner", "Martin", "Cooper", "Hill",
         "Ward", "Morris", "Moore", "Clark", "Lee", "King", "Baker", "Harrison", "Morgan", "Allen",
         "James", "Scott", "Phillips", "Watson", "Davis", "Parker", "Price", "Bennett", "Young",
         "Griffiths", "Mitchell", "Kelly", "Cook", "Carter", "Richardson", "Bailey", "Collins", "Bell",
         "Shaw", "Murphy", "Miller", "Cox", "Richards", "Marshall", "Anderson", "Simpson", "Ellis",
         "Adams", "Wilkinson", "Foster", "Chapman", "Mason", "Gray", "Webb", "Rogers", "Hunt", "Palmer",
         "Holmes", "Mills", "Barnes", "Knight", "Lloyd", "Butler", "Russell", "Barker", "Fisher",
         "Stevens", "Jenkins", "Dixon", "Fletcher", "Howard", "Fox", "Pearce", "Gibson", "O'Brien",
         "O'Connor", "O'Neill", "D'Arcy", "McDonald", "MacKenzie", "Smith-Jones", "Taylor-Brown",
         "Lloyd-Davies", "Ashby-Cole", "Gray-Wood", "Brennan-Kelly", "Ward-Smith", "Hughes-Parry",
         "Le Roux", "St John", "Van der Berg"),
    ),
    "irish": (
        ("Seán", "Conor", "Cian", "Darragh", "Oisín", "Liam", "Patrick", "Ciarán", "Eoin", "Niall"),
        ("Aoife", "Siobhán", "Róisín", "Niamh", "Saoirse", "Caoimhe", "Orla", "Ciara", "Áine", "Clodagh"),
        ("O'Sullivan", "Murphy", "Kelly", "Byrne", "Ryan", "O'Brien", "Walsh", "O'Connor", "McCarthy",
         "Doyle", "Gallagher", "Kennedy", "Lynch", "Quinn", "O'Donnell", "Mac Giolla"),
    ),
    "east_european": (
        ("Jakub", "Lukáš", "Tomáš", "Filip", "Mateusz", "Kacper", "Szymon", "Dawid", "Andrei", "Mihai",
         "Bogdan", "Dominik", "Marek", "Jonas", "Mantas", "Jürgen"),
        ("Zuzana", "Aleksandra", "Natalia", "Zofia", "Julia", "Alexandra", "Ioana", "Elena", "Gabriela",
         "Agnieszka", "Katarína", "Šárka", "Žaneta", "Lenka", "Viktória"),
        ("Nowak", "Kowalski", "Kowalska", "Novák", "Horváth", "Popescu", "Ionescu", "Kazlauskas",
         "Petrauskas", "Dvorak", "Šimková", "Müller", "Schröder", "Köhler", "Jankowski", "Wójcik",
         "Lewandowski", "Kaminski"),
    ),
    "south_asian_muslim": (
        ("Mohammed", "Muhammad", "Mohammad", "Ahmed", "Ali", "Hamza", "Yusuf", "Ibrahim", "Abdullah", "Zain",
         "Ayaan", "Rayan", "Omar", "Bilal", "Hassan", "Imran", "Zakariya", "Musa", "Haris", "Ismail"),
        ("Aisha", "Fatima", "Maryam", "Zara", "Inaya", "Hafsa", "Amina", "Khadija", "Safa", "Noor",
         "Zainab", "Aleena", "Hania", "Sana", "Ayesha", "Iqra"),
        ("Khan", "Ahmed", "Hussain", "Ali", "Akhtar", "Begum", "Rahman", "Iqbal", "Mahmood", "Shah",
         "Choudhury", "Islam", "Uddin", "Mirza", "Malik", "Qureshi", "Aziz", "Butt", "Siddiqui", "Rashid"),
    ),
    "indian": (
        ("Arjun", "Rohan", "Aarav", "Vihaan", "Krishna", "Dev", "Ishaan", "Rahul", "Gurpreet", "Jaskaran",
         "Sai", "Aditya", "Kabir", "Nikhil"),
        ("Priya", "Ananya", "Diya", "Aanya", "Isha", "Kavya", "Simran", "Harleen", "Navneet", "Riya",
         "Saanvi", "Meera", "Pooja", "Tara"),
        ("Patel", "Singh", "Kaur", "Sharma", "Shah", "Gill", "Sandhu", "Mistry", "Kumar", "Chauhan",
         "Joshi", "Parmar", "Dhillon", "Rai", "Gupta", "Mehta", "D'Souza", "Fernandes"),
    ),
    "african": (
        ("Emmanuel", "David", "Samuel", "Daniel", "Joshua", "Kwame", "Kofi", "Tobi", "Oluwaseun", "Chidi",
         "Tendai", "Abdi", "Mohamed", "Isaac", "Elijah"),
        ("Grace", "Blessing", "Esther", "Precious", "Favour", "Adaeze", "Amara", "Chioma", "Ama", "Abena",
         "Fadumo", "Hodan", "Faith", "Deborah", "Mercy"),
        ("Okafor", "Adeyemi", "Mensah", "Osei", "Boateng", "Okoye", "Ibrahim", "Mohamed", "Abdi", "Hassan",
         "Nwosu", "Adebayo", "Owusu", "Asante", "Mutasa", "Banda", "Achieng"),
    ),
    "chinese": (
        ("Wei", "Jun", "Hao", "Yi", "Chen", "Ming", "Jian", "Kai", "Ethan", "Ryan"),
        ("Mei", "Xin", "Yan", "Lin", "Hui", "Jing", "Chloe", "Emily", "Li", "Ying"),
        ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Chan", "Wong",
         "Lam", "Cheung", "Ng"),
    ),
}
GROUP_NAMES: tuple[str, ...] = tuple(POOLS)

ETHNICITY_GROUP = {
    "WBRI": "british", "WIRT": "british", "MWBC": "british", "MWBA": "british", "MOTH": "british",
    "REFU": "british", "NOBT": "british", "BCRB": "british", "WIRI": "irish", "WOTH": "east_european",
    "WROM": "east_european", "APKN": "south_asian_muslim", "ABAN": "south_asian_muslim",
    "OOTH": "south_asian_muslim", "MWAS": "south_asian_muslim", "AIND": "indian", "AOTH": "indian",
    "BAFR": "african", "BOTH": "african", "CHNE": "chinese",
}
# Shares of pupils by CBDS code: a county outside London, and England as a whole.
ETHNICITY_WEIGHTS = {
    "county": {"WBRI": 78.0, "WIRI": 0.5, "WIRT": 0.3, "WOTH": 6.0, "WROM": 0.5, "MWBC": 1.5, "MWBA": 0.6,
               "MWAS": 1.0, "MOTH": 1.5, "AIND": 1.2, "APKN": 0.4, "ABAN": 0.5, "AOTH": 0.8, "BCRB": 0.3,
               "BAFR": 1.5, "BOTH": 0.3, "CHNE": 0.4, "OOTH": 1.2, "REFU": 1.5, "NOBT": 1.5},
    "england": {"WBRI": 64.0, "WIRI": 0.4, "WIRT": 0.2, "WOTH": 7.0, "WROM": 0.5, "MWBC": 1.9, "MWBA": 0.9,
                "MWAS": 1.6, "MOTH": 2.2, "AIND": 3.3, "APKN": 4.5, "ABAN": 1.8, "AOTH": 2.0, "BCRB": 1.1,
                "BAFR": 3.8, "BOTH": 0.6, "CHNE": 0.6, "OOTH": 2.0, "REFU": 1.0, "NOBT": 1.5},
}

# Nicknames and transliterations a different system may hold for the same child.
FORENAME_VARIANTS: dict[str, tuple[str, ...]] = {
    "Mohammed": ("Muhammad", "Mohammad", "Muhammed", "Mohamed", "Mohd"),
    "Muhammad": ("Mohammed", "Muhammed", "Mohammad"), "Mohammad": ("Mohammed", "Muhammad"),
    "Mohamed": ("Mohammed", "Mohamud"), "Ahmed": ("Ahmad",), "Yusuf": ("Yousef", "Youssef", "Yusef"),
    "Hassan": ("Hasan",), "Aisha": ("Ayesha", "Aysha"), "Ayesha": ("Aisha",), "Fatima": ("Fatimah",),
    "Maryam": ("Mariam", "Miriam"), "Zakariya": ("Zakaria", "Zachariah"), "Ibrahim": ("Ebrahim",),
    "Alexander": ("Alex", "Sasha"), "William": ("Will", "Bill", "Billy"), "Thomas": ("Tom", "Tommy"),
    "James": ("Jim", "Jamie"), "Joseph": ("Joe", "Joey"), "Samuel": ("Sam", "Sammy"),
    "Benjamin": ("Ben", "Benji"), "Daniel": ("Dan", "Danny"), "Matthew": ("Matt",),
    "Edward": ("Ed", "Eddie", "Ted"), "Henry": ("Harry", "Hal"), "Joshua": ("Josh",), "Nathan": ("Nate",),
    "Zachary": ("Zach", "Zack"), "Freddie": ("Fred", "Frederick"), "Alfie": ("Alfred",),
    "Archie": ("Archibald",), "Charlie": ("Charles",), "Elizabeth": ("Beth", "Liz", "Lizzie", "Eliza"),
    "Katherine": ("Kate", "Katie", "Kathryn", "Catherine"), "Rebecca": ("Becky", "Becca"),
    "Abigail": ("Abby", "Abi"), "Jessica": ("Jess",), "Victoria": ("Vicky", "Tori"),
    "Charlotte": ("Lottie", "Charlie"), "Olivia": ("Liv", "Livvy"), "Isabella": ("Bella", "Izzy", "Isabelle"),
    "Eleanor": ("Ellie", "Nell"), "Florence": ("Flo",), "Matilda": ("Tilly",), "Sophia": ("Sofia",),
    "Zoë": ("Zoe",), "Chloé": ("Chloe",), "Esmé": ("Esme",), "Renée": ("Renee",),
    "Seán": ("Sean", "Shaun", "Shawn"), "Ciarán": ("Ciaran", "Kieran"), "Siobhán": ("Siobhan",),
    "Róisín": ("Roisin", "Rosheen"), "Áine": ("Aine", "Anya"), "Oisín": ("Oisin",), "Lukáš": ("Lukas",),
    "Tomáš": ("Tomas",), "Jakub": ("Jacob", "Kuba"), "Aleksandra": ("Alexandra", "Ola"),
    "Zofia": ("Sophia", "Zosia"), "Mateusz": ("Matthew", "Mateus"), "Szymon": ("Simon",),
    "Šárka": ("Sarka",), "Žaneta": ("Zaneta",), "Oluwaseun": ("Seun",), "Tobi": ("Oluwatobi",),
    "Emmanuel": ("Manny",), "Jürgen": ("Jurgen",), "Viktória": ("Viktoria",), "Katarína": ("Katarina",),
}
SURNAME_VARIANTS: dict[str, tuple[str, ...]] = {
    "Hussain": ("Hussein", "Husain"), "Mohamed": ("Mohammed",), "Choudhury": ("Chowdhury",),
    "Mahmood": ("Mahmud",), "McDonald": ("MacDonald",), "MacKenzie": ("McKenzie",),
    "Rahman": ("Rehman",), "Uddin": ("Udin",),
}


def ethnicity_codes(profile: str) -> tuple[tuple[str, ...], np.ndarray]:
    """CBDS codes and their cumulative weights (for inverse-CDF sampling)."""
    weights = ETHNICITY_WEIGHTS[profile]
    codes = tuple(weights)
    cumulative = np.cumsum([weights[c] for c in codes])
    return codes, cumulative / cumulative[-1]


def pools_as_arrays() -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The same pools as object arrays, for vectorised lookups."""
    return {g: tuple(np.array(p, dtype=object) for p in pools) for g, pools in POOLS.items()}
