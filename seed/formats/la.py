"""Los Angeles MyLA311 service requests (the hackforla 2017 subset)."""
from seed.formats.base import Format

FORMAT = Format(
    name="la-myla311",
    source="la311",
    city_zh="洛杉矶",
    city_en="Los Angeles",
    timezone="America/Los_Angeles",
    columns={
        "external_id": "SRNumber",
        "request_type": "RequestType",
        "agency": "Owner",
        "created": "CreatedDate",
        "closed": "ClosedDate",
        # ServiceDate is no due date: nearly a fifth of rows schedule service before creation.
        "lat": "Latitude",
        "lon": "Longitude",
        "district": "CD",
        "status": "Status",
    },
    date_formats=("%m/%d/%Y %I:%M:%S %p",),
    item_rules=(
        (r"^bulky items$|illegal dumping|metal/household appliances|electronic waste", "14-03"),
        (r"homeless encampment", "11-04"),
        (r"dead animal", "14-05"),
        (r"streetlight", "18-02"),
        (r"graffiti", "15-02"),
        # Reports of running sprinklers and broken pipes, a water-service fault in our terms.
        (r"water waste", "18-04"),
        # "Other" and "Feedback" say nothing about the problem, so they stay unmapped.
    ),
    district_label="Council District {}",
    description=("Address", "NCName"),
    agency_names={
        "BOS": "Bureau of Sanitation",
        "OCB": "Office of Community Beautification",
        "ITA": "Information Technology Agency",
        "BSL": "Bureau of Street Lighting",
        "LADWP": "Department of Water and Power",
    },
)
