"""Word lists and tables the sample company is drawn from.

Everything here is plain data: the generator turns integer draws into strings by
indexing these pools, so no Python loop ever runs per account.
"""

from __future__ import annotations

from territorial.domain.model import INDUSTRIES

#: Share of each industry in the national account mix before regional tilts.
INDUSTRY_BASE_SHARE: dict[str, float] = {
    "Software": 0.08,
    "Healthcare": 0.12,
    "Financial Services": 0.07,
    "Manufacturing": 0.10,
    "Retail": 0.12,
    "Education": 0.05,
    "Government": 0.03,
    "Energy": 0.03,
    "Transportation & Logistics": 0.06,
    "Professional Services": 0.13,
    "Media & Telecom": 0.04,
    "Construction & Real Estate": 0.09,
    "Hospitality": 0.07,
    "Agriculture": 0.03,
}

_MIDWEST = ("OH", "MI", "IN", "IL", "WI", "MN", "IA", "MO", "KS", "NE", "SD", "ND")
_FARM_BELT = ("IA", "NE", "KS", "SD", "ND", "MN", "IL", "IN", "MO", "WI", "OH", "MT", "ID")
_SOUTH_MAKERS = ("AL", "TN", "KY", "SC", "NC", "GA", "MS", "AR")

#: Regional tilts: (industry, states, multiplier of the base share).
STATE_TILTS: tuple[tuple[str, tuple[str, ...], float], ...] = (
    ("Software", ("CA", "WA", "MA"), 2.4),
    ("Software", ("TX", "CO", "NY", "NC", "UT", "GA", "VA", "OR"), 1.4),
    ("Energy", ("TX", "OK", "ND", "LA"), 3.5),
    ("Energy", ("WY", "AK", "NM", "WV", "CO"), 2.2),
    ("Agriculture", _FARM_BELT, 2.5),
    ("Agriculture", ("CA", "WA", "ID", "AR"), 1.4),
    ("Government", ("DC",), 9.0),
    ("Government", ("VA", "MD"), 3.0),
    ("Financial Services", ("NY",), 2.6),
    ("Financial Services", ("NC", "IL", "CT", "NJ", "DE"), 1.9),
    ("Manufacturing", _MIDWEST, 1.8),
    ("Manufacturing", _SOUTH_MAKERS, 1.5),
    ("Hospitality", ("NV", "FL", "HI"), 2.5),
    ("Transportation & Logistics", ("TN", "IL", "TX", "GA", "KY"), 1.4),
    ("Media & Telecom", ("NY", "CA"), 1.6),
    ("Healthcare", ("MN", "TN", "MA", "PA", "OH"), 1.3),
)

#: Tilts by the size of the place (population bands): (upper bound, {industry: multiplier}).
#: Rural places lean to agriculture and construction, big cities to software and finance.
PLACE_SIZE_TILTS: tuple[tuple[int, dict[str, float]], ...] = (
    (
        10_000,
        {
            "Agriculture": 3.0,
            "Software": 0.35,
            "Financial Services": 0.6,
            "Media & Telecom": 0.6,
            "Construction & Real Estate": 1.2,
        },
    ),
    (100_000, {"Agriculture": 0.8}),
    (500_000, {"Agriculture": 0.25, "Software": 1.3, "Financial Services": 1.2}),
    (
        100_000_000,
        {
            "Agriculture": 0.08,
            "Software": 1.6,
            "Financial Services": 1.5,
            "Professional Services": 1.2,
            "Media & Telecom": 1.4,
        },
    ),
)

#: Median employees of a company in each industry (log-normal, sigma below).
MEDIAN_EMPLOYEES: dict[str, float] = {
    "Software": 24,
    "Healthcare": 40,
    "Financial Services": 30,
    "Manufacturing": 45,
    "Retail": 20,
    "Education": 60,
    "Government": 80,
    "Energy": 35,
    "Transportation & Logistics": 28,
    "Professional Services": 12,
    "Media & Telecom": 26,
    "Construction & Real Estate": 14,
    "Hospitality": 18,
    "Agriculture": 9,
}
EMPLOYEE_SIGMA = 1.9
MAX_EMPLOYEES = 200_000

#: Annual revenue per employee in dollars (median; log-normal noise sigma 0.4).
REVENUE_PER_EMPLOYEE: dict[str, float] = {
    "Software": 250_000,
    "Healthcare": 120_000,
    "Financial Services": 350_000,
    "Manufacturing": 300_000,
    "Retail": 180_000,
    "Education": 90_000,
    "Government": 110_000,
    "Energy": 900_000,
    "Transportation & Logistics": 220_000,
    "Professional Services": 160_000,
    "Media & Telecom": 320_000,
    "Construction & Real Estate": 250_000,
    "Hospitality": 70_000,
    "Agriculture": 200_000,
}

#: The CRM/ERP an account runs, and how common each is per segment (Enterprise, Mid-Market, SMB).
TECHNOLOGIES: tuple[str, ...] = (
    "Salesforce",
    "HubSpot",
    "Microsoft Dynamics 365",
    "Zoho",
    "Pipedrive",
    "Oracle NetSuite",
    "SAP",
    "Spreadsheets",
)
TECHNOLOGY_SHARE_BY_SEGMENT: dict[str, tuple[float, ...]] = {
    "Enterprise": (0.40, 0.05, 0.18, 0.01, 0.00, 0.06, 0.28, 0.02),
    "Mid-Market": (0.32, 0.18, 0.17, 0.04, 0.03, 0.12, 0.08, 0.06),
    "SMB": (0.18, 0.25, 0.07, 0.10, 0.10, 0.05, 0.02, 0.23),
}

#: Product catalogue: name -> list-price factor (amount = factor x employees^0.55 x noise).
PRODUCTS: dict[str, float] = {
    "Territorial Core": 900.0,
    "Analytics Add-on": 350.0,
    "Routing Add-on": 300.0,
    "Premium Support": 200.0,
    "Enterprise Suite": 2200.0,
}
PRODUCT_SHARE_BY_SEGMENT: dict[str, tuple[float, ...]] = {
    "Enterprise": (0.22, 0.18, 0.12, 0.08, 0.40),
    "Mid-Market": (0.40, 0.20, 0.17, 0.08, 0.15),
    "SMB": (0.60, 0.18, 0.14, 0.08, 0.00),
}

#: Relative number of deals closing in each calendar month (Jan..Dec) per segment:
#: quarter-end spikes, a December peak and a summer dip, strongest in Enterprise.
CLOSE_SEASONALITY: dict[str, tuple[float, ...]] = {
    "Enterprise": (0.60, 0.70, 1.45, 0.65, 0.75, 1.45, 0.55, 0.55, 1.45, 0.75, 0.90, 2.00),
    "Mid-Market": (0.75, 0.85, 1.25, 0.85, 0.90, 1.20, 0.75, 0.70, 1.20, 0.95, 1.00, 1.50),
    "SMB": (1.10, 1.00, 1.12, 0.98, 1.00, 1.08, 0.78, 0.76, 1.08, 1.02, 1.00, 1.15),
}

#: Median sales cycle in days per segment (log-normal, sigma 0.5).
SALES_CYCLE_DAYS: dict[str, float] = {"Enterprise": 110.0, "Mid-Market": 55.0, "SMB": 25.0}

#: Channel mix of activities per segment (call, email, meeting, visit).
CHANNEL_SHARE_BY_SEGMENT: dict[str, tuple[float, ...]] = {
    "Enterprise": (0.30, 0.35, 0.22, 0.13),
    "Mid-Market": (0.38, 0.40, 0.15, 0.07),
    "SMB": (0.45, 0.45, 0.08, 0.02),
}

ROLES: tuple[str, ...] = ("Account Executive", "Senior AE", "SDR", "Manager")

LEGAL_SUFFIXES: tuple[str, ...] = (
    "Inc",
    "LLC",
    "Corp",
    "Co",
    "Group",
    "Holdings",
    "Ltd",
    "Partners",
    "",
)
LEGAL_SUFFIX_SHARE: tuple[float, ...] = (0.30, 0.25, 0.12, 0.05, 0.08, 0.04, 0.03, 0.03, 0.10)

#: Leading words of company names: landscape words and family names.
NAME_WORDS: tuple[str, ...] = (
    "Acorn", "Alder", "Allen", "Alpine", "Anchor", "Apex", "Arbor", "Ash", "Aspen", "Atlas",
    "Atwood", "Aurora", "Avery", "Bailey", "Baker", "Banner", "Barrett", "Bay", "Beacon", "Bell",
    "Bennett", "Birch", "Bishop", "Black", "Blue", "Bluff", "Boulder", "Bradley", "Brandt",
    "Brick", "Bridge", "Bright", "Brook", "Brooks", "Burke", "Butler", "Cambridge", "Camden",
    "Canyon", "Capital", "Cardinal", "Carter", "Cascade", "Cedar", "Central", "Chapman",
    "Charter", "Chase", "Clark", "Clay", "Clear", "Cliff", "Coastal", "Cole", "Colony",
    "Compass", "Copper", "Coral", "Cornerstone", "Crest", "Crown", "Cypress", "Dalton", "Davis",
    "Dawson", "Delta", "Dixon", "Douglas", "Drake", "Dune", "Eagle", "East", "Echo", "Elm",
    "Ember", "Emerald", "Evans", "Evergreen", "Fairview", "Falcon", "Ferris", "Field",
    "Fisher", "Flint", "Forest", "Foster", "Fox", "Franklin", "Frontier", "Garnet", "Gate",
    "Gibson", "Glacier", "Glen", "Golden", "Gordon", "Granite", "Graham", "Grant", "Gray",
    "Green", "Grove", "Hale", "Hamilton", "Harbor", "Harper", "Harris", "Harvest", "Haven",
    "Hawk", "Hayes", "Heartland", "Heritage", "Highland", "Hill", "Holland", "Horizon",
    "Hudson", "Hunter", "Iron", "Ivy", "Jackson", "Jasper", "Jensen", "Keystone", "Kingston",
    "Knight", "Lake", "Landmark", "Lane", "Larkin", "Laurel", "Legacy", "Liberty", "Lincoln",
    "Linden", "Lion", "Logan", "Lone Star", "Lowell", "Madison", "Magnolia", "Maple",
    "Marble", "Marsh", "Mason", "Meadow", "Meridian", "Mesa", "Metro", "Midland", "Miller",
    "Mills", "Mission", "Monarch", "Morgan", "Morris", "Mosaic", "Murphy", "Nash", "Nelson",
    "Newport", "North", "Northstar", "Oak", "Ocean", "Olympic", "Onyx", "Orchard", "Osprey",
    "Pacific", "Palmer", "Paragon", "Parker", "Patriot", "Peak", "Pearl", "Pelican", "Penn",
    "Pierce", "Pine", "Pinnacle", "Pioneer", "Plains", "Porter", "Prairie", "Premier",
    "Prescott", "Quarry", "Quest", "Rainier", "Raven", "Redwood", "Reed", "Regal", "Ridge",
    "River", "Riverside", "Robinson", "Rock", "Rocky", "Rose", "Royal", "Russell", "Sage",
    "Salem", "Sawyer", "Scott", "Sentinel", "Shore", "Sierra", "Silver", "Sky", "Slate",
    "Sterling", "Stone", "Summit", "Sun", "Sutton", "Tall Pine", "Taylor", "Thompson",
    "Timber", "Titan", "Tower", "Trail", "Trinity", "Tucker", "Union", "Unity", "Valley",
    "Vanguard", "Vantage", "Vertex", "Vista", "Walker", "Wallace", "Ward", "Warren",
    "Waterford", "Wayne", "Webb", "Wells", "West", "Westfield", "Wheeler", "Whitney", "Wild",
    "Willow", "Wilson", "Windward", "Wolf", "Wood", "Wright", "Yellowstone", "Young", "Zenith",
)  # fmt: skip

#: Optional second words ("Blue Ridge", "North Harbor").
NAME_MIDDLES: tuple[str, ...] = (
    "Ridge", "Creek", "Point", "View", "Field", "Bridge", "Stone", "Park", "Rock", "Wood",
    "Water", "Crest", "Lake", "Hill", "Gate", "Haven", "Brook", "Star", "Light", "Line",
    "Port", "Mark", "Way", "Works", "Path", "Land", "Spring", "Bay", "Peak", "Shore",
    "& Sons", "& Associates", "Brothers", "American", "National", "United", "General",
    "First", "Standard", "Global",
)  # fmt: skip

#: Industry words that end company names, per industry.
INDUSTRY_WORDS: dict[str, tuple[str, ...]] = {
    "Software": ("Software", "Systems", "Labs", "Analytics", "Technologies", "Data", "Cloud",
                 "Digital", "Networks", "Logic", "Apps", "AI"),
    "Healthcare": ("Health", "Medical", "Clinic", "Care", "Health Partners", "Pharmacy",
                   "Dental", "Physicians", "Hospital", "Therapeutics", "Diagnostics",
                   "Home Care"),
    "Financial Services": ("Financial", "Capital", "Bank", "Credit Union", "Insurance",
                           "Wealth", "Advisors", "Lending", "Trust", "Investments",
                           "Mortgage", "Payments"),
    "Manufacturing": ("Manufacturing", "Industries", "Fabrication", "Machine Works",
                      "Plastics", "Metals", "Components", "Tool & Die", "Precision",
                      "Products", "Assembly", "Castings"),
    "Retail": ("Market", "Outfitters", "Supply", "Stores", "Goods", "Boutique", "Hardware",
               "Furniture", "Grocers", "Home & Garden", "Apparel", "Mercantile"),
    "Education": ("Academy", "Learning", "School District", "College", "Institute",
                  "Education", "Prep", "Tutoring", "Montessori", "Training",
                  "Community College", "Schools"),
    "Government": ("County", "City Services", "Water Authority", "Housing Authority",
                   "Transit Authority", "Public Works", "Port Authority", "Utility District",
                   "Parks Department", "Library District", "Fire District",
                   "School Board"),
    "Energy": ("Energy", "Oil & Gas", "Power", "Solar", "Petroleum", "Resources",
               "Midstream", "Wind", "Utilities", "Drilling", "Pipeline", "Renewables"),
    "Transportation & Logistics": ("Logistics", "Freight", "Trucking", "Transport",
                                   "Shipping", "Delivery", "Express", "Carriers",
                                   "Distribution", "Moving", "Fleet Services", "Cargo"),
    "Professional Services": ("Consulting", "Law Group", "Accounting", "Advisors",
                              "Associates", "Partners", "Staffing", "Engineering",
                              "Architects", "Marketing", "CPAs", "Strategies"),
    "Media & Telecom": ("Media", "Broadcasting", "Communications", "Wireless", "Telecom",
                        "Studios", "Publishing", "Fiber", "Radio", "Productions",
                        "Broadband", "Press"),
    "Construction & Real Estate": ("Construction", "Builders", "Realty", "Properties",
                                   "Homes", "Contractors", "Development", "Roofing",
                                   "Concrete", "Property Management", "Land Co",
                                   "Excavating"),
    "Hospitality": ("Hotels", "Inn", "Resorts", "Restaurant Group", "Catering", "Grill",
                    "Hospitality", "Lodge", "Suites", "Brewing", "Events", "Kitchen"),
    "Agriculture": ("Farms", "Ranch", "Agri", "Seed", "Grain", "Orchards", "Dairy",
                    "Cattle Co", "Growers", "Feed & Supply", "Farm Supply", "Cooperative"),
}  # fmt: skip

#: Top-level domains and how often they appear.
TLDS: tuple[str, ...] = (".com", ".net", ".co", ".io", ".us", ".org")
TLD_SHARE: tuple[float, ...] = (0.78, 0.07, 0.04, 0.04, 0.03, 0.04)

STREET_NAMES: tuple[str, ...] = (
    "Main", "Oak", "Maple", "Cedar", "Pine", "Elm", "Washington", "Lake", "Hill", "Park",
    "Walnut", "Spring", "North", "Ridge", "Church", "Willow", "Mill", "Jefferson", "Lincoln",
    "Jackson", "Franklin", "Highland", "Sunset", "River", "Center", "Market", "Broad",
    "Chestnut", "Adams", "Madison", "Forest", "Meadow", "Dogwood", "Hickory", "Magnolia",
    "Railroad", "Commerce", "Industrial", "Airport", "College", "Valley", "Front", "Water",
    "Union", "Liberty", "Grant", "Monroe", "Spruce", "Poplar", "Sycamore", "Birch", "Laurel",
    "Cherry", "Prospect", "Pleasant", "Green", "School", "Bridge", "Canal", "Harbor",
    "Summit", "Woodland", "Lakeview", "Fairway", "Orchard", "Innovation", "Enterprise",
    "Technology", "Corporate", "Research", "Executive", "Gateway", "Heritage", "Westgate",
    "Pioneer", "Frontier", "Granite", "Sierra", "Mesa", "Canyon", "Desert", "Prairie",
    "Cypress", "Palm", "Bay", "Ocean", "Shore", "Peachtree", "Magnolia Park", "Kennedy",
    "King", "Martin Luther King Jr", "Roosevelt", "Wilson", "Clay", "Hamilton", "Main Street",
    "Elm Grove", "First", "Second", "Third", "Fourth", "Fifth", "Sixth", "Seventh", "Eighth",
    "Ninth", "Tenth", "12th", "14th", "18th", "21st", "23rd", "35th", "42nd", "51st", "100th",
)  # fmt: skip
STREET_TYPES: tuple[str, ...] = ("St", "Ave", "Blvd", "Rd", "Dr", "Ln", "Way", "Pkwy", "Ct", "Pl")
STREET_TYPE_SHARE: tuple[float, ...] = (0.26, 0.22, 0.08, 0.14, 0.12, 0.05, 0.05, 0.04, 0.02, 0.02)

FIRST_NAMES: tuple[str, ...] = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
    "Sarah", "Christopher", "Karen", "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Betty",
    "Mark", "Sandra", "Steven", "Ashley", "Paul", "Emily", "Andrew", "Michelle", "Joshua",
    "Amanda", "Kevin", "Melissa", "Brian", "Stephanie", "George", "Rebecca", "Timothy",
    "Laura", "Jason", "Amy", "Ryan", "Angela", "Jacob", "Rachel", "Nicholas", "Megan", "Eric",
    "Hannah", "Jonathan", "Olivia", "Justin", "Samantha", "Brandon", "Katherine", "Carlos",
    "Maria", "Luis", "Sofia", "Jose", "Gabriela", "Wei", "Mei", "Raj", "Priya", "Arjun",
    "Ananya", "Hiroshi", "Yuki", "Minh", "Linh", "Omar", "Fatima", "Ahmed", "Aisha", "Kwame",
    "Amara", "Diego", "Camila", "Mateo", "Valentina", "Noah", "Emma", "Liam", "Ava", "Ethan",
    "Mia", "Lucas", "Chloe", "Tyler", "Grace", "Jordan", "Taylor", "Morgan", "Casey",
)  # fmt: skip
LAST_NAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
    "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas",
    "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris",
    "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King",
    "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson",
    "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Chen", "Wang",
    "Patel", "Shah", "Kim", "Park", "Tanaka", "Okafor", "Mensah", "Cohen", "Murphy",
    "O'Brien", "Sullivan", "Kowalski", "Novak", "Schmidt", "Muller", "Rossi", "Bianchi",
    "Silva", "Santos", "Costa", "Ali", "Khan", "Hussain", "Singh", "Kumar", "Gupta", "Ivanov",
    "Petrov", "Larsen", "Nielsen", "Johansson", "Berg", "Dubois", "Moreau", "Fischer",
    "Weber", "Hoffman", "Brooks", "Price", "Bennett", "Wood", "Barnes", "Ross", "Henderson",
    "Coleman", "Jenkins", "Perry", "Powell", "Long", "Patterson", "Hughes", "Foster", "Reyes",
)  # fmt: skip

assert set(INDUSTRY_BASE_SHARE) == set(INDUSTRIES) == set(INDUSTRY_WORDS)
