"""The demo register: a fictional, plausible set of the IPPC Secretariat's partners, contacts and
arrangements, for trying the service out (`ippc demo`).

Everything here is invented. No organization, person, meeting paragraph or amount is real, even
where a name sounds official. Each organization says so in its description and has its website
under the reserved `.example` domain (RFC 2606). Countries, currencies and the Strategic
Framework's objectives are real codes, as the service requires.

The agreements tell their own stories (see `records.py`), so that every status of the workflow
shows: drafts, one returned by the Bureau and one never assessed; agreements under review by the
Bureau or the CPM; approved, active, suspended, ended and terminated ones; rejections by both
bodies; and three withdrawals, one of them an offer from an excluded sector. The Bureau's
members declared interests in three partners, so that several decisions carry recusals (one
interest ended before the later decisions on the same partner, which then carry none). One
CPM decision is corrected (a wrong paragraph number).
"""

from __future__ import annotations

from datetime import date

from app.demo.records import (
    Activate,
    BureauMember,
    Correct,
    Decide,
    Declaration,
    DemoAgreement,
    DemoInteraction,
    DemoOrganization,
    DueDiligence,
    Financing,
    Move,
    Revise,
    Submit,
)

FICTIONAL = "Fictional organization of the demo register."


def _organization(
    key: str,
    name: str,
    acronym: str | None,
    category: str,
    sector: str,
    scope: str,
    country: str | None,
    about: str,
    *,
    parent: str | None = None,
    archived: bool = False,
) -> DemoOrganization:
    return DemoOrganization(
        key=key,
        name=name,
        acronym=acronym,
        category=category,
        sector=sector,
        geographic_scope=scope,
        country=country,
        website=f"https://{key}.example",
        description=f"{about} {FICTIONAL}",
        parent=parent,
        archived=archived,
    )


# --- Organizations: every category, both sectors, every geographic scope ----------------------

# fmt: off
ORGANIZATIONS: tuple[DemoOrganization, ...] = (
    # National plant protection organizations.
    _organization(
        "pqpd-gh", "Plant Quarantine and Phytosanitary Directorate", "PQPD", "nppo", "public",
        "national", "GH", "Export certification and border inspection of plants.",
    ),
    _organization(
        "phsa-my", "Plant Health Services Agency", "PHSA", "nppo", "public", "national", "MY",
        "Pest surveillance, pest risk analysis and phytosanitary certification.",
    ),
    _organization(
        "senacof-py", "Servicio Nacional de Control Fitosanitario", "SENACOF", "nppo", "public",
        "national", "PY", "Control fitosanitario de importaciones y exportaciones agrícolas.",
    ),
    _organization(
        "onpv-bf", "Office national de la protection des végétaux", "ONPV", "nppo", "public",
        "national", "BF", "Surveillance des organismes nuisibles et certification phytosanitaire.",
    ),
    _organization(
        "pbd-pg", "Plant Biosecurity Directorate", "PBD", "nppo", "public", "national", "PG",
        "Biosecurity at ports of entry and surveillance of exotic pests.",
    ),
    _organization(
        "dpic-vn", "Department of Plant Inspection and Certification", "DPIC", "nppo", "public",
        "national", "VN", "Phytosanitary inspection and electronic certification of exports.",
    ),
    _organization(
        "ansv-mz", "Agência Nacional de Sanidade Vegetal", "ANSV", "nppo", "public", "national",
        "MZ", "Vigilância fitossanitária e áreas livres de pragas.",
    ),
    _organization(
        "phia-jm", "Plant Health Inspection Agency", "PHIA", "nppo", "public", "national", "JM",
        "Inspection of imported plants and plant products at ports and airports.",
    ),
    # Regional plant protection organizations.
    _organization(
        "soippo", "Southern Ocean Islands Plant Protection Organization", "SOIPPO", "rppo",
        "public", "regional", None, "Coordinates plant protection among island states.",
    ),
    _organization(
        "wsppc", "West Sahel Plant Protection Commission", "WSPPC", "rppo", "public", "regional",
        None, "Regional coordination of pest surveillance and locust control in the Sahel.",
    ),
    _organization(
        "caasv", "Comité Andino-Amazónico de Sanidad Vegetal", "CAASV", "rppo", "public",
        "regional", None, "Armonización fitosanitaria entre países andinos y amazónicos.",
    ),
    _organization(
        "cappo", "Central Asian Plant Protection Organization", "CAPPO", "rppo", "public",
        "regional", None, "Information exchange on emerging pests in Central Asia.",
    ),
    # United Nations organizations, one with a regional office.
    _organization(
        "unaro", "United Nations Agrifood Resilience Office", "UNARO", "un_organization",
        "public", "global", None, "Food security in emergencies and the recovery of agriculture.",
    ),
    _organization(
        "unaro-lac", "UNARO Regional Office for Latin America and the Caribbean", "UNARO-LAC",
        "un_organization", "public", "regional", "PA",
        "Regional office of the Agrifood Resilience Office.", parent="unaro",
    ),
    _organization(
        "unpcb", "United Nations Programme for Cross-Border Biosecurity", "UNPCB",
        "un_organization", "public", "global", None,
        "Biosecurity along trade routes, sea containers included.",
    ),
    # Other intergovernmental organizations.
    _organization(
        "ifats", "Intergovernmental Forum on Agricultural Trade Standards", "IFATS",
        "intergovernmental_organization", "public", "global", None,
        "A forum of trade and standards bodies on agricultural trade.",
    ),
    _organization(
        "lrec", "Lakes Region Economic Community", "LREC", "intergovernmental_organization",
        "public", "regional", None, "Economic integration and trade facilitation among members.",
    ),
    _organization(
        "taic", "Tropical Agriculture Intergovernmental Centre", "TAIC",
        "intergovernmental_organization", "public", "international", None,
        "Research and training on tropical crops, biological control included.",
    ),
    # Industry associations.
    _organization(
        "gstf", "Global Seed Traders Federation", "GSTF", "industry_association", "private",
        "global", None, "Represents seed companies and traders.",
    ),
    _organization(
        "ifpec", "International Fresh Produce Exporters Council", "IFPEC",
        "industry_association", "private", "international", None,
        "Represents exporters of fresh fruit and vegetables.",
    ),
    _organization(
        "wpma", "Wood Packaging Manufacturers Alliance", "WPMA", "industry_association",
        "private", "international", None, "Represents makers of pallets and wood packaging.",
    ),
    _organization(
        "eacfga", "East African Cut Flower Growers Association", "EACFGA",
        "industry_association", "private", "regional", None,
        "Represents growers and exporters of cut flowers.",
    ),
    # Private companies.
    _organization(
        "harbourline", "Harbourline Container Services Ltd", None, "private_company", "private",
        "international", "SG", "Operates container terminals and their information systems.",
    ),
    _organization(
        "verdant", "Verdant Diagnostics SA", None, "private_company", "private",
        "international", "CH", "Sells diagnostic kits and a pest identification app.",
    ),
    _organization(
        "agrisens", "Agrisens Fernerkundung GmbH", "Agrisens", "private_company", "private",
        "national", "DE", "Remote sensing of crops and vegetation.",
    ),
    _organization(
        "redstone", "Redstone Leaf Tobacco Ltd", None, "private_company", "private", "national",
        "ZW", "Buys, grades and exports leaf tobacco.",
    ),
    # Non-governmental organizations; one has dissolved and is archived.
    _organization(
        "ssn", "Smallholder Seed Network", "SSN", "ngo", "private", "international", None,
        "Community seed banks and farmer-saved seed.",
    ),
    _organization(
        "fif", "Friends of Island Forests", "FIF", "ngo", "private", "regional", None,
        "Volunteer monitoring of forest pests on small islands; dissolved in 2023.",
        archived=True,
    ),
    _organization(
        "wipha", "Women in Plant Health Association", "WiPHA", "ngo", "private", "global", None,
        "Network of women working in plant health and farming.",
    ),
    _organization(
        "isw", "Invasive Species Watch", "ISW", "ngo", "private", "global", None,
        "Public awareness of invasive species and how they travel.",
    ),
    # Academic and research institutions.
    _organization(
        "itphr", "Institute for Tropical Plant Health Research", "ITPHR", "academic_research",
        "public", "national", "CR", "Diagnostics and pest biology of tropical crops.",
    ),
    _organization(
        "eastmoor", "University of Eastmoor, Centre for Plant Biosecurity", None,
        "academic_research", "public", "national", "AU",
        "Research and teaching on biosecurity and biological control.",
    ),
    _organization(
        "icprm", "International Centre for Pest Risk Modelling", "ICPRM", "academic_research",
        "public", "international", None, "Models of pest spread and climate suitability.",
    ),
    _organization(
        "kinryo", "Kinryo University, Laboratory of Plant Quarantine", None, "academic_research",
        "public", "national", "JP", "Seed health testing and quarantine methods.",
    ),
    # Foundations and donors.
    _organization(
        "greenfields", "Greenfields Foundation for Food Security", None, "foundation_donor",
        "private", "global", None, "Grants for food security and plant health.",
    ),
    _organization(
        "alder", "Alder Trust for Biodiversity", None, "foundation_donor", "private",
        "international", "GB", "Grants for the protection of biodiversity.",
    ),
    _organization(
        "doac", "Department for Overseas Agricultural Cooperation", "DOAC", "foundation_donor",
        "public", "national", "NO", "A government's development cooperation in agriculture.",
    ),
    # Others.
    _organization(
        "eastbay-port", "Port Authority of Eastbay", None, "other", "public", "national", "NZ",
        "Runs the port of Eastbay and its inspection areas.",
    ),
    _organization(
        "rcta", "Regional Customs Training Academy", "RCTA", "other", "public", "regional",
        "KE", "Trains customs and border officers of the region.",
    ),
)
# fmt: on


# --- The Bureau: seven members, each with a client of their own ---------------------------------

BUREAU: tuple[BureauMember, ...] = (
    BureauMember("lucia", "Lucía Ferrer Ortega", "Latin America and Caribbean"),
    BureauMember("jonas", "Jonas Lindqvist", "Europe"),
    BureauMember("farah", "Farah Al-Qadi", "Near East"),
    BureauMember("sione", "Sione Taufa", "Southwest Pacific"),
    BureauMember("grace", "Grace Achieng Otieno", "Africa"),
    BureauMember("kenji", "Kenji Morioka", "Asia"),
    BureauMember("daniel", "Daniel Whitford", "North America"),
)


def bureau(*absent: str) -> tuple[str, ...]:
    """The names of the Bureau's members taking part in a decision: all but `absent` (keys)."""
    return tuple(member.name for member in BUREAU if member.key not in absent)


DECLARATIONS: tuple[Declaration, ...] = (
    Declaration(
        "jonas",
        "icprm",
        "Unpaid member of the centre's scientific advisory board.",
        declared_on=date(2021, 9, 1),
    ),
    Declaration(
        "farah",
        "gstf",
        "A close family member was employed by the federation until the end of 2023.",
        declared_on=date(2021, 2, 15),
        ended_on=date(2023, 12, 31),
    ),
    Declaration(
        "sione",
        "soippo",
        "Represents his country's plant protection organization on the executive committee.",
        declared_on=date(2020, 7, 1),
    ),
)


# --- Agreements: every status of the workflow ---------------------------------------------------


def _cpm(session: int) -> tuple[str, ...]:
    return (f"CPM-{session} plenary",)


NO_ROLE_IN_STANDARDS = (
    "The partner has no role in setting or adopting standards through this arrangement; its "
    "input to standards goes through the public consultation, as anyone's does."
)

AGREEMENTS: tuple[DemoAgreement, ...] = (
    # Active: Bureau and CPM approval, financed by a foundation, three partners.
    DemoAgreement(
        title="Fruit fly surveillance programme for the West Sahel",
        level="partnership",
        instrument="memorandum_of_understanding",
        partners=("wsppc", "onpv-bf", "greenfields"),
        objectives=("2020-2030.A", "2020-2030.C"),
        purpose="Trapping networks and shared data on fruit flies, to protect harvests and "
        "keep export markets open.",
        public_summary="A regional fruit fly trapping network, funded by a foundation and run by "
        "the regional and national plant protection organizations.",
        scope_of_work="Trapping sites in three countries; a shared database; yearly training of "
        "trap inspectors; a mid-term report to CPM-19.",
        start_date=date(2023, 6, 1),
        end_date=date(2027, 5, 31),
        shares_resources=True,
        shares_responsibilities=True,
        financing=Financing("480000.00", "USD", "to_ippc"),
        due_diligence=DueDiligence(
            "medium",
            "The foundation funds field surveillance only. " + NO_ROLE_IN_STANDARDS,
            risk_categories=("financial", "reputational"),
            mitigation="Funds held in a separate account audited yearly; the donor receives "
            "activity reports, never drafts of standards.",
            assessed_by="Partnerships and liaison officer",
            assessed_on=date(2022, 8, 30),
        ),
        steps=(
            Submit("Ready for the Bureau's October meeting."),
            Decide(
                "bureau",
                "approved",
                date(2022, 10, 12),
                "CPM Bureau, October 2022, agenda item 5",
                "Serves objectives A and C; the safeguards on the donor's role are adequate.",
                recorded_by="lucia",
                participants=bureau(),
            ),
            Decide(
                "cpm",
                "approved",
                date(2023, 3, 31),
                "CPM-17 (2023), paragraph 48",
                "The Commission approved the partnership and asked for a mid-term report at "
                "CPM-19.",
                recorded_by="grace",
                participants=_cpm(17),
            ),
            Activate(date(2023, 5, 15), "Signed at the regional workshop."),
        ),
    ),
    # Active, and the CPM decision corrected afterwards (a wrong paragraph number).
    DemoAgreement(
        title="Exchange of information on emerging pests in Central Asia",
        level="cooperation",
        instrument="exchange_of_letters",
        partners=("cappo",),
        objectives=("2020-2030.B",),
        purpose="Early warning of new pests between the Secretariat and the regional organization.",
        public_summary="Regular exchange of pest reports and early warnings.",
        start_date=date(2021, 7, 1),
        shares_responsibilities=True,
        due_diligence=DueDiligence(
            "low",
            "A regional plant protection organization of contracting parties; no private "
            "interest is involved.",
            assessed_by="Partnerships and liaison officer",
            assessed_on=date(2020, 11, 10),
        ),
        steps=(
            Submit(),
            Decide(
                "bureau",
                "approved",
                date(2020, 12, 9),
                "CPM Bureau, December 2020 (virtual), agenda item 7",
                "A cooperative activity with a regional plant protection organization; the "
                "Commission's approval is needed.",
                recorded_by="daniel",
                participants=bureau(),
            ),
            Decide(
                "cpm",
                "approved",
                date(2021, 3, 19),
                "CPM-15 (2021), paragraph 73",
                "The Commission approved the exchange of information.",
                recorded_by="kenji",
                participants=_cpm(15),
            ),
            Activate(date(2021, 6, 21), "Letters exchanged."),
            Correct(
                1,
                date(2021, 3, 19),
                "CPM-15 (2021), paragraph 37",
                "The Commission approved the exchange of information. (The meeting reference "
                "is corrected: paragraph 37, not 73.)",
                recorded_by="kenji",
                participants=_cpm(15),
            ),
        ),
    ),
    # Active: an informal partnership that the Bureau approves alone.
    DemoAgreement(
        title="Seed health testing network for smallholder seed systems",
        level="partnership",
        instrument="informal_arrangement",
        partners=("ssn", "kinryo"),
        objectives=("2020-2030.A",),
        purpose="Shared seed health testing protocols for community seed banks.",
        public_summary="An informal network sharing seed testing protocols.",
        start_date=date(2024, 7, 1),
        shares_responsibilities=True,
        due_diligence=DueDiligence(
            "low",
            "No funding is involved; the partners share laboratory protocols only.",
            assessed_by="Partnerships and liaison officer",
            assessed_on=date(2024, 5, 20),
        ),
        steps=(
            Submit(),
            Decide(
                "bureau",
                "approved",
                date(2024, 6, 12),
                "CPM Bureau, June 2024, agenda item 8",
                "An informal partnership without financing: the Bureau's approval suffices.",
                recorded_by="farah",
                participants=bureau(),
            ),
            Activate(date(2024, 7, 1)),
        ),
    ),
    # Suspended, after a return by the Bureau and a second round.
    DemoAgreement(
        title="Outreach on ISPM 15 compliance for wood packaging",
        level="partnership",
        instrument="letter_of_intent",
        partners=("wpma",),
        objectives=("2020-2030.C", "2020-2030.B"),
        purpose="Explain the treatment and marking of wood packaging to small manufacturers.",
        public_summary="Outreach material on ISPM 15 for small manufacturers of wood packaging.",
        scope_of_work="Guides and short videos in five languages.",
        start_date=date(2022, 7, 1),
        end_date=date(2027, 6, 30),
        shares_resources=True,
        due_diligence=DueDiligence(
            "medium",
            "The alliance's members are regulated by ISPM 15; the letter covers outreach only.",
            risk_categories=("undue_influence",),
            mitigation="Outreach material is drafted by the Secretariat.",
            assessed_by="Partnerships and liaison officer",
            assessed_on=date(2021, 5, 10),
        ),
        steps=(
            Submit("For the Bureau's June meeting."),
            Decide(
                "bureau",
                "returned",
                date(2021, 6, 16),
                "CPM Bureau, June 2021 (virtual), agenda item 4",
                "Returned: the letter must state that the alliance has no role in standard "
                "setting, and how outreach material is reviewed.",
                recorded_by="sione",
                participants=bureau(),
            ),
            Revise(
                changes={
                    "scope_of_work": "Guides and short videos in five languages, drafted by the "
                    "Secretariat and reviewed by the Implementation and Capacity Development "
                    "Committee before release. " + NO_ROLE_IN_STANDARDS
                },
                due_diligence=DueDiligence(
                    "medium",
                    "The alliance's members are regulated by ISPM 15; the letter covers "
                    "outreach only. " + NO_ROLE_IN_STANDARDS,
                    risk_categories=("undue_influence",),
                    mitigation="Outreach material is drafted by the Secretariat and reviewed "
                    "by a committee of contracting parties before release.",
                    assessed_by="Partnerships and liaison officer",
                    assessed_on=date(2021, 8, 2),
                ),
            ),
            Submit("Resubmitted with the safeguards the Bureau asked for."),
            Decide(
                "bureau",
                "approved",
                date(2021, 10, 13),
                "CPM Bureau, October 2021, agenda item 3",
                "The safeguards asked for in June are in place.",
                recorded_by="lucia",
                participants=bureau(),
            ),
            Decide(
                "cpm",
                "approved",
                date(2022, 4, 8),
                "CPM-16 (2022), paragraph 55",
                "The Commission approved the letter of intent.",
                recorded_by="daniel",
                participants=_cpm(16),
            ),
            Activate(date(2022, 6, 20)),
            Move(
                "suspend",
                "Paused while allegations that members misused the ISPM 15 mark are reviewed.",
            ),
        ),
    ),
    # Active again after a suspension; in-kind financing; a company and a port as partners.
    DemoAgreement(
        title="Pilot of electronic phytosanitary certificates at container terminals",
        level="partnership",
        instrument="cooperation_agreement",
        partners=("harbourline", "eastbay-port"),
        objectives=("2020-2030.C",),
        purpose="Test the exchange of electronic certificates between the hub and terminal "
        "systems.",
        public_summary="A pilot linking container terminals to the electronic certificate hub.",
        start_date=date(2023, 9, 1),
        end_date=date(2026, 12, 31),
        shares_risks=True,
        shares_resources=True,
        financing=Financing("60000.00", "EUR", "in_kind"),
        due_diligence=DueDiligence(
            "medium",
            "The company operates terminals; it gains no say in certification rules.",
            risk_categories=("operational", "reputational"),
            mitigation="Certificates stay with the national authorities; the company sees only "
            "the pilot's test messages.",
            assessed_by="ePhyto project officer",
            assessed_on=date(2022, 11, 15),
        ),
        steps=(
            Submit(),
            Decide(
                "bureau",
                "approved",
                date(2022, 12, 7),
                "CPM Bureau, December 2022, agenda item 6",
                "A written agreement with in-kind support: the Commission decides.",
                recorded_by="grace",
                participants=bureau(),
            ),
            Decide(
                "cpm",
                "approved",
                date(2023, 3, 31),
                "CPM-17 (2023), paragraph 51",
                "The Commission approved the pilot.",
                recorded_by="jonas",
                participants=_cpm(17),
            ),
            Activate(date(2023, 8, 28)),
            Move("suspend", "Terminal operating system replaced; pilot messages paused."),
            Move("resume", "Testing resumed on the new terminal system."),
        ),
    ),
    # Ended: a government donor's contribution, with a legal arrangement.
    DemoAgreement(
        title="Capacity development for plant pest diagnostics",
        level="partnership",
        instrument="contribution_agreement",
        partners=("doac",),
        objectives=("2012-2019.D",),
        purpose="Diagnostic laboratory training for national plant protection organizations.",
        public_summary="A donor's contribution to diagnostics training, 2019-2022.",
        start_date=date(2019, 6, 1),
        end_date=date(2022, 12, 31),
        shares_resources=True,
        financing=Financing("12500000.00", "NOK", "to_ippc"),
        legal_arrangement="Governed by the standard contribution terms of the host "
        "organization; yearly narrative and financial reports.",
        due_diligence=DueDiligence(
            "low",
            "A government donor; the contribution is not earmarked for standard setting.",
            risk_categories=("financial",),
            assessed_by="Resource mobilization officer",
            assessed_on=date(2018, 11, 20),
        ),
        steps=(
            Submit(),
            Decide(
                "bureau",
                "approved",
                date(2018, 12, 5),
                "CPM Bureau, December 2018, agenda item 9",
                "Serves objective D; financing and a legal arrangement: the Commission decides.",
                recorded_by="daniel",
                participants=bureau(),
            ),
            Decide(
                "cpm",
                "approved",
                date(2019, 4, 5),
                "CPM-14 (2019), paragraph 61",
                "The Commission approved the contribution agreement with thanks.",
                recorded_by="lucia",
                participants=_cpm(14),
            ),
            Activate(date(2019, 5, 20)),
            Move("close", "Final narrative and financial reports accepted."),
        ),
    ),
    # Ended; two Bureau members recused (interests in two partners).
    DemoAgreement(
        title="Regional surveillance of the tomato leafminer in island states",
        level="cooperation",
        instrument="cooperation_agreement",
        partners=("soippo", "icprm", "pbd-pg"),
        objectives=("2020-2030.A", "2020-2030.B"),
        purpose="Surveillance and spread models of the tomato leafminer for island states.",
        public_summary="Surveillance of the tomato leafminer with a modelling centre.",
        start_date=date(2023, 7, 1),
        end_date=date(2025, 12, 31),
        shares_risks=True,
        shares_resources=True,
        shares_responsibilities=True,
        financing=Financing("35000.00", "USD", "from_ippc"),
        due_diligence=DueDiligence(
            "medium",
            "Public partners only. " + NO_ROLE_IN_STANDARDS,
            risk_categories=("conflict_of_interest",),
            conflicts_of_interest="One Bureau member sits on the modelling centre's advisory "
            "board; another represents his country on the regional organization's executive "
            "committee. Both declared it.",
            mitigation="Neither member takes part in the Bureau's review or records a decision.",
            assessed_by="Partnerships and liaison officer",
            assessed_on=date(2022, 5, 30),
        ),
        steps=(
            Submit(),
            Decide(
                "bureau",
                "approved",
                date(2022, 6, 15),
                "CPM Bureau, June 2022, agenda item 6",
                "Serves objectives A and B; a cooperative activity for the Commission to approve.",
                recorded_by="grace",
                participants=bureau("jonas", "sione"),
            ),
            Decide(
                "cpm",
                "approved",
                date(2023, 3, 31),
                "CPM-17 (2023), paragraph 49",
                "The Commission approved the cooperation.",
                recorded_by="lucia",
                participants=_cpm(17),
            ),
            Activate(date(2023, 6, 12)),
            Move("close", "Ran its course; the final surveillance report was received."),
        ),
    ),
    # Rejected by the CPM after the Bureau's approval.
    DemoAgreement(
        title="Sponsorship of regional phytosanitary workshops by fresh produce exporters",
        level="partnership",
        instrument="memorandum_of_understanding",
        partners=("ifpec",),
        objectives=("2020-2030.C",),
        purpose="Exporters would pay for regional workshops on market access.",
        financing=Financing("75000.00", "USD", "to_ippc"),
        due_diligence=DueDiligence(
            "high",
            "Exporters have a direct interest in the standards the workshops explain.",
            risk_categories=("undue_influence", "reputational"),
            mitigation="Sponsorship limited to logistics; no speaking slots for sponsors; "
            "materials prepared by the Secretariat alone.",
            assessed_by="Partnerships and liaison officer",
            assessed_on=date(2023, 9, 12),
        ),
        steps=(
            Submit(),
            Decide(
                "bureau",
                "approved",
                date(2023, 10, 11),
                "CPM Bureau, October 2023, agenda item 7",
                "Forwarded to the Commission with the Bureau's concerns on perception.",
                recorded_by="kenji",
                participants=bureau(),
            ),
            Decide(
                "cpm",
                "rejected",
                date(2024, 5, 10),
                "CPM-18 (2024), paragraph 37",
                "Exporters' funding of workshops on market access standards would give an "
                "appearance of undue influence that the safeguards do not remove.",
                recorded_by="lucia",
                participants=_cpm(18),
            ),
        ),
    ),
    # Rejected by the Bureau.
    DemoAgreement(
        title="Co-branded pest identification app with a diagnostics company",
        level="partnership",
        instrument="partnership_agreement",
        partners=("verdant",),
        objectives=("2020-2030.A",),
        purpose="The IPPC's name and keys in a commercial identification app.",
        due_diligence=DueDiligence(
            "high",
            "Co-branding a commercial product would suggest that the IPPC endorses it.",
            risk_categories=("undue_influence", "reputational", "legal"),
            mitigation="The IPPC's name would appear only on the keys it validated.",
            assessed_by="Partnerships and liaison officer",
            assessed_on=date(2023, 9, 20),
        ),
        steps=(
            Submit(),
            Decide(
                "bureau",
                "rejected",
                date(2023, 10, 11),
                "CPM Bureau, October 2023, agenda item 8",
                "Co-branding would read as an endorsement; the app may cite IPPC resources "
                "without a partnership.",
                recorded_by="farah",
                participants=bureau(),
            ),
        ),
    ),
    # Under CPM review; a member with an interest in a partner cannot record the CPM's decision.
    DemoAgreement(
        title="Sharing of pest interception data among trade standards bodies",
        level="cooperation",
        instrument="memorandum_of_understanding",
        partners=("ifats", "icprm"),
        objectives=("2020-2030.C",),
        purpose="A common format for reports of intercepted pests, and their use in models of "
        "pest spread.",
        public_summary="A shared format for pest interception reports.",
        start_date=date(2027, 4, 1),
        due_diligence=DueDiligence(
            "low",
            "An intergovernmental forum and a public research centre; no private interest is "
            "involved.",
            conflicts_of_interest="A Bureau member sits on the research centre's advisory "
            "board; declared.",
            mitigation="The member takes no part in the review.",
            assessed_by="Partnerships and liaison officer",
            assessed_on=date(2026, 9, 21),
        ),
        steps=(
            Submit(),
            Decide(
                "bureau",
                "approved",
                date(2026, 10, 14),
                "CPM Bureau, October 2026, agenda item 5",
                "Forwarded to CPM-21.",
                recorded_by="daniel",
                participants=bureau("jonas"),
            ),
        ),
    ),
    # Under CPM review; the member whose interest in the partner ended may now take part.
    DemoAgreement(
        title="Phytosanitary e-learning for the seed trade",
        level="partnership",
        instrument="memorandum_of_understanding",
        partners=("gstf", "ssn"),
        objectives=("2020-2030.A", "2020-2030.C"),
        purpose="Online courses on phytosanitary requirements for seed exporters and "
        "community seed banks.",
        public_summary="Online courses on seed health and phytosanitary requirements.",
        start_date=date(2027, 5, 1),
        shares_resources=True,
        financing=Financing("40000.00", "USD", "in_kind"),
        due_diligence=DueDiligence(
            "medium",
            "The federation contributes course development. " + NO_ROLE_IN_STANDARDS,
            risk_categories=("undue_influence",),
            mitigation="Course content reviewed by the Secretariat; the federation is credited "
            "as a contributor only.",
            assessed_by="Partnerships and liaison officer",
            assessed_on=date(2026, 5, 12),
        ),
        steps=(
            Submit(),
            Decide(
                "bureau",
                "approved",
                date(2026, 6, 10),
                "CPM Bureau, June 2026, agenda item 4",
                "Serves objectives A and C; forwarded to the Commission.",
                recorded_by="farah",
                participants=bureau(),
            ),
        ),
    ),
    # Terminated while active; a member recused (an interest in force then).
    DemoAgreement(
        title="Guidance on the phytosanitary movement of seed",
        level="partnership",
        instrument="letter_of_intent",
        partners=("gstf",),
        objectives=("2020-2030.C",),
        purpose="Practical guidance for seed traders on phytosanitary certification.",
        public_summary="Guidance for seed traders, prepared with their federation.",
        start_date=date(2023, 5, 1),
        end_date=date(2026, 4, 30),
        shares_responsibilities=True,
        due_diligence=DueDiligence(
            "medium",
            NO_ROLE_IN_STANDARDS,
            risk_categories=("conflict_of_interest", "undue_influence"),
            conflicts_of_interest="A Bureau member declared that a close family member works "
            "for the federation.",
            mitigation="The member takes no part in the review.",
            assessed_by="Partnerships and liaison officer",
            assessed_on=date(2022, 9, 26),
        ),
        steps=(
            Submit(),
            Decide(
                "bureau",
                "approved",
                date(2022, 10, 12),
                "CPM Bureau, October 2022, agenda item 6",
                "Serves objective C; the safeguards are adequate.",
                recorded_by="jonas",
                participants=bureau("farah"),
            ),
            Decide(
                "cpm",
                "approved",
                date(2023, 3, 31),
                "CPM-17 (2023), paragraph 50",
                "The Commission approved the letter of intent.",
                recorded_by="sione",
                participants=_cpm(17),
            ),
            Activate(date(2023, 4, 20)),
            Move("terminate", "The federation withdrew its staff support; ended by consent."),
        ),
    ),
    # Terminated after a suspension.
    DemoAgreement(
        title="Invasive species awareness campaign for travellers",
        level="partnership",
        instrument="memorandum_of_understanding",
        partners=("isw", "alder"),
        objectives=("2020-2030.B",),
        purpose="Messages at airports and online on not carrying plants and seeds.",
        public_summary="An awareness campaign for travellers, funded by a trust.",
        start_date=date(2021, 5, 1),
        end_date=date(2024, 4, 30),
        financing=Financing("90000.00", "GBP", "to_ippc"),
        due_diligence=DueDiligence(
            "medium",
            "Public awareness only. " + NO_ROLE_IN_STANDARDS,
            risk_categories=("reputational", "financial"),
            mitigation="Messages drafted by the Secretariat; the trust's funding acknowledged, "
            "not advertised.",
            assessed_by="Communications officer",
            assessed_on=date(2020, 11, 2),
        ),
        steps=(
            Submit(),
            Decide(
                "bureau",
                "approved",
                date(2020, 12, 9),
                "CPM Bureau, December 2020 (virtual), agenda item 8",
                "Serves objective B; financing: the Commission decides.",
                recorded_by="kenji",
                participants=bureau(),
            ),
            Decide(
                "cpm",
                "approved",
                date(2021, 3, 19),
                "CPM-15 (2021), paragraph 74",
                "The Commission approved the campaign.",
                recorded_by="grace",
                participants=_cpm(15),
            ),
            Activate(date(2021, 5, 3)),
            Move("suspend", "Paused while the watch group's accounts are reviewed."),
            Move("terminate", "The trust withdrew its funding after the review."),
        ),
    ),
    # Approved by the CPM, not yet signed.
    DemoAgreement(
        title="Joint guidance on the cleanliness of sea containers",
        level="cooperation",
        instrument="exchange_of_letters",
        partners=("unpcb", "ifats"),
        objectives=("2020-2030.B", "2020-2030.C"),
        purpose="Joint guidance for shippers on keeping sea containers free of pests.",
        public_summary="Joint guidance on clean sea containers.",
        start_date=date(2027, 1, 1),
        shares_responsibilities=True,
        due_diligence=DueDiligence(
            "low",
            "Intergovernmental partners only.",
            assessed_by="Partnerships and liaison officer",
            assessed_on=date(2025, 9, 8),
        ),
        steps=(
            Submit(),
            Decide(
                "bureau",
                "approved",
                date(2025, 10, 15),
                "CPM Bureau, October 2025, agenda item 5",
                "Forwarded to CPM-20.",
                recorded_by="sione",
                participants=bureau(),
            ),
            Decide(
                "cpm",
                "approved",
                date(2026, 4, 17),
                "CPM-20 (2026), paragraph 42",
                "The Commission approved the cooperation.",
                recorded_by="jonas",
                participants=_cpm(20),
            ),
        ),
    ),
    # Approved by the Bureau alone, not yet signed.
    DemoAgreement(
        title="Informal coordination on electronic certification in the Lakes Region",
        level="partnership",
        instrument="informal_arrangement",
        partners=("lrec",),
        objectives=("2020-2030.C",),
        purpose="Regular coordination on joining the electronic certificate hub.",
        public_summary="Informal coordination with a regional economic community.",
        due_diligence=DueDiligence(
            "low",
            "An intergovernmental partner; no financing.",
            assessed_by="ePhyto project officer",
            assessed_on=date(2026, 9, 2),
        ),
        steps=(
            Submit(),
            Decide(
                "bureau",
                "approved",
                date(2026, 10, 14),
                "CPM Bureau, October 2026, agenda item 6",
                "An informal partnership: the Bureau's approval suffices.",
                recorded_by="grace",
                participants=bureau(),
            ),
        ),
    ),
    # Submitted, waiting for the Bureau.
    DemoAgreement(
        title="Support to pest-free areas for smallholder mango exporters",
        level="partnership",
        instrument="memorandum_of_understanding",
        partners=("ifpec", "ansv-mz"),
        objectives=("2020-2030.A", "2020-2030.C"),
        purpose="Surveillance that lets smallholders export mangoes from pest-free areas.",
        start_date=date(2027, 3, 1),
        financing=Financing("150000.00", "USD", "to_ippc"),
        due_diligence=DueDiligence(
            "medium",
            "Exporters fund surveillance run by the national organization. " + NO_ROLE_IN_STANDARDS,
            risk_categories=("undue_influence", "financial"),
            mitigation="Funds go to the national organization's surveillance, not to standard "
            "setting; a yearly public report.",
            assessed_by="Partnerships and liaison officer",
            assessed_on=date(2026, 10, 30),
        ),
        steps=(Submit("For the Bureau's December meeting."),),
    ),
    # Submitted again after the CPM returned it.
    DemoAgreement(
        title="Guidance on the release of biological control agents",
        level="cooperation",
        instrument="cooperation_agreement",
        partners=("taic", "eastmoor"),
        objectives=("2020-2030.B",),
        purpose="Practical guidance on assessing and releasing biological control agents.",
        start_date=date(2027, 6, 1),
        due_diligence=DueDiligence(
            "low",
            "Public research and intergovernmental partners.",
            assessed_by="Partnerships and liaison officer",
            assessed_on=date(2025, 5, 14),
        ),
        steps=(
            Submit(),
            Decide(
                "bureau",
                "approved",
                date(2025, 6, 11),
                "CPM Bureau, June 2025, agenda item 7",
                "Serves objective B; forwarded to CPM-20.",
                recorded_by="lucia",
                participants=bureau(),
            ),
            Decide(
                "cpm",
                "returned",
                date(2026, 4, 17),
                "CPM-20 (2026), paragraph 44",
                "Returned: the division of responsibilities between the partners and the "
                "Secretariat must be set out.",
                recorded_by="daniel",
                participants=_cpm(20),
            ),
            Revise(
                changes={
                    "scope_of_work": "The centre drafts the guidance; the university reviews "
                    "the science; the Secretariat consults contracting parties and publishes.",
                    "shares_responsibilities": True,
                }
            ),
            Submit("Resubmitted with the division of responsibilities the CPM asked for."),
        ),
    ),
    # Draft, assessed, not yet submitted.
    DemoAgreement(
        title="Remote sensing of locust breeding areas",
        level="partnership",
        instrument="cooperation_agreement",
        partners=("agrisens", "wsppc"),
        objectives=("2020-2030.A",),
        purpose="Satellite maps of vegetation where locusts breed, for early control.",
        financing=Financing("25000.00", "EUR", "in_kind"),
        due_diligence=DueDiligence(
            "medium",
            "A company provides imagery; it gains no exclusivity. " + NO_ROLE_IN_STANDARDS,
            risk_categories=("operational",),
            mitigation="Imagery licensed to the partners for surveillance only.",
            assessed_by="Partnerships and liaison officer",
            assessed_on=date(2026, 6, 1),
        ),
    ),
    # Draft again: returned by the Bureau (it carries a decision, so it cannot be deleted).
    DemoAgreement(
        title="Training of phytosanitary inspectors in the Andean-Amazon region",
        level="cooperation",
        instrument="cooperation_agreement",
        partners=("caasv", "senacof-py"),
        objectives=("2020-2030.C",),
        purpose="Courses for inspectors at borders and ports.",
        due_diligence=DueDiligence(
            "low",
            "Public partners only.",
            assessed_by="Implementation and facilitation officer",
            assessed_on=date(2026, 9, 15),
        ),
        steps=(
            Submit(),
            Decide(
                "bureau",
                "returned",
                date(2026, 10, 14),
                "CPM Bureau, October 2026, agenda item 7",
                "Returned: a budget and the share of costs are needed before review.",
                recorded_by="kenji",
                participants=bureau(),
            ),
        ),
    ),
    # Draft, just begun: no objective nor due diligence yet.
    DemoAgreement(
        title="Citizen reporting of plant pests by women farmers' groups",
        level="partnership",
        instrument="informal_arrangement",
        partners=("wipha",),
        objectives=(),
        purpose="Farmers' groups report unusual pests through a simple phone message.",
    ),
    # Withdrawn as a draft: an excluded sector cannot be submitted.
    DemoAgreement(
        title="Leaf inspection training sponsored by a tobacco company",
        level="partnership",
        instrument="partnership_agreement",
        partners=("redstone",),
        objectives=("2020-2030.C",),
        purpose="A company offered to pay for inspector training.",
        financing=Financing("50000.00", "USD", "to_ippc"),
        due_diligence=DueDiligence(
            "high",
            "The tobacco industry is an excluded sector.",
            risk_categories=("reputational", "undue_influence"),
            mitigation="None possible.",
            excluded_sector=True,
            assessed_by="Partnerships and liaison officer",
            assessed_on=date(2023, 12, 14),
        ),
        steps=(Move("withdraw", "Excluded sector (tobacco industry): not to be pursued."),),
    ),
    # Withdrawn while submitted.
    DemoAgreement(
        title="Certification pilot for cut flower exports",
        level="partnership",
        instrument="letter_of_intent",
        partners=("eacfga", "pqpd-gh"),
        objectives=("2020-2030.C",),
        purpose="Pre-export inspection of cut flowers at farms.",
        due_diligence=DueDiligence(
            "medium",
            "Growers would take part in inspections of their own exports.",
            risk_categories=("undue_influence",),
            mitigation="Inspections remain the national organization's; growers only host them.",
            assessed_by="Partnerships and liaison officer",
            assessed_on=date(2025, 5, 27),
        ),
        steps=(
            Submit(),
            Move("withdraw", "At the association's request while it reorganizes."),
        ),
    ),
    # Withdrawn while under CPM review.
    DemoAgreement(
        title="Regional phytosanitary emergency fund",
        level="partnership",
        instrument="contribution_agreement",
        partners=("greenfields", "unaro-lac"),
        objectives=("2020-2030.A",),
        purpose="A fund for rapid responses to pest outbreaks in the region.",
        financing=Financing("2000000.00", "USD", "to_ippc"),
        legal_arrangement="A trust fund under the host organization's financial rules.",
        due_diligence=DueDiligence(
            "high",
            "A large private grant. " + NO_ROLE_IN_STANDARDS,
            risk_categories=("financial", "reputational"),
            mitigation="An independent board allocates the fund; the donor has no seat on it.",
            assessed_by="Resource mobilization officer",
            assessed_on=date(2024, 9, 18),
        ),
        steps=(
            Submit(),
            Decide(
                "bureau",
                "approved",
                date(2024, 10, 16),
                "CPM Bureau, October 2024, agenda item 4",
                "Forwarded to CPM-19 with the independent board as a condition.",
                recorded_by="sione",
                participants=bureau(),
            ),
            Move("withdraw", "The foundation changed its funding priorities before CPM-19."),
        ),
    ),
    # Active: a United Nations organization and its regional office.
    DemoAgreement(
        title="Plant health in food security emergencies",
        level="cooperation",
        instrument="memorandum_of_understanding",
        partners=("unaro", "unaro-lac"),
        objectives=("2020-2030.A",),
        purpose="Phytosanitary advice in emergency seed and food aid.",
        public_summary="Plant health advice for emergency seed and food aid.",
        start_date=date(2024, 6, 1),
        end_date=date(2028, 5, 31),
        shares_responsibilities=True,
        due_diligence=DueDiligence(
            "low",
            "United Nations partners.",
            assessed_by="Partnerships and liaison officer",
            assessed_on=date(2023, 9, 25),
        ),
        steps=(
            Submit(),
            Decide(
                "bureau",
                "approved",
                date(2023, 10, 11),
                "CPM Bureau, October 2023, agenda item 9",
                "Forwarded to CPM-18.",
                recorded_by="jonas",
                participants=bureau(),
            ),
            Decide(
                "cpm",
                "approved",
                date(2024, 5, 10),
                "CPM-18 (2024), paragraph 39",
                "The Commission approved the memorandum.",
                recorded_by="farah",
                participants=_cpm(18),
            ),
            Activate(date(2024, 6, 3)),
        ),
    ),
    # Ended; decided in 2018-2019, recorded with its real dates; a member recused.
    DemoAgreement(
        title="Phytosanitary capacity evaluations in Pacific island countries",
        level="partnership",
        instrument="exchange_of_letters",
        partners=("soippo", "pbd-pg"),
        objectives=("2012-2019.D",),
        purpose="Capacity evaluations run with the regional organization.",
        public_summary="Phytosanitary capacity evaluations, 2019-2021.",
        start_date=date(2019, 5, 1),
        end_date=date(2021, 4, 30),
        shares_responsibilities=True,
        due_diligence=DueDiligence(
            "low",
            "Public partners only.",
            conflicts_of_interest="A Bureau member represents his country on the regional "
            "organization's executive committee; declared.",
            mitigation="The member takes no part in the review.",
            assessed_by="Implementation and facilitation officer",
            assessed_on=date(2018, 11, 12),
        ),
        steps=(
            Submit(),
            Decide(
                "bureau",
                "approved",
                date(2018, 12, 5),
                "CPM Bureau, December 2018, agenda item 10",
                "Serves objective D; a written instrument: the Commission decides.",
                recorded_by="daniel",
                participants=bureau("sione"),
            ),
            Decide(
                "cpm",
                "approved",
                date(2019, 4, 5),
                "CPM-14 (2019), paragraph 62",
                "The Commission approved the exchange of letters.",
                recorded_by="grace",
                participants=_cpm(14),
            ),
            Activate(date(2019, 4, 26)),
            Move("close", "All evaluations delivered."),
        ),
    ),
)


# --- Interactions: 2019-2026 ---------------------------------------------------------------------

SECRETARY = "IPPC Secretary"
LIAISON = "Partnerships and liaison officer"
STANDARDS = "Standard setting officer"
IMPLEMENTATION = "Implementation and facilitation officer"
EPHYTO = "ePhyto project officer"
COMMUNICATIONS = "Communications officer"

RPPOS = ("soippo", "wsppc", "caasv", "cappo")
ACRONYMS = {organization.key: organization.acronym for organization in ORGANIZATIONS}


def _framework(year: int, letter: str) -> str:
    return f"2012-2019.{letter}" if year < 2020 else f"2020-2030.{letter}"


# The recurring contacts: the yearly consultation of all the regional organizations, and a
# planning call with each of them every year.
RECURRING: tuple[DemoInteraction, ...] = (
    *(
        DemoInteraction(
            date(year, 11, 3 + (year % 4)),
            "event",
            f"Technical consultation among regional plant protection organizations, {year}",
            RPPOS,
            (_framework(year, "C"), _framework(year, "A")),
            "public",
            (SECRETARY, IMPLEMENTATION, STANDARDS),
            "Online" if year in (2020, 2021) else None,
            "Yearly consultation on work plans, emerging pests and the implementation of "
            "standards.",
        )
        for year in range(2019, 2027)
    ),
    *(
        DemoInteraction(
            date(year, 2, 10 + 3 * index),
            "call",
            f"Annual work planning call with {ACRONYMS[key]}, {year}",
            (key,),
            (_framework(year, "C"),),
            "internal",
            (IMPLEMENTATION,),
            follow_up="Work plan items entered in the shared calendar.",
        )
        for year in range(2019, 2027)
        for index, key in enumerate(RPPOS)
    ),
)

FRUIT_FLIES = "Fruit fly surveillance programme for the West Sahel"
CENTRAL_ASIA = "Exchange of information on emerging pests in Central Asia"
SEED_TESTING = "Seed health testing network for smallholder seed systems"
ISPM_15 = "Outreach on ISPM 15 compliance for wood packaging"
EPHYTO_PILOT = "Pilot of electronic phytosanitary certificates at container terminals"
DIAGNOSTICS = "Capacity development for plant pest diagnostics"
LEAFMINER = "Regional surveillance of the tomato leafminer in island states"
SPONSORSHIP = "Sponsorship of regional phytosanitary workshops by fresh produce exporters"
APP = "Co-branded pest identification app with a diagnostics company"
INTERCEPTIONS = "Sharing of pest interception data among trade standards bodies"
E_LEARNING = "Phytosanitary e-learning for the seed trade"
SEED_GUIDANCE = "Guidance on the phytosanitary movement of seed"
TRAVELLERS = "Invasive species awareness campaign for travellers"
CONTAINERS = "Joint guidance on the cleanliness of sea containers"
LAKES = "Informal coordination on electronic certification in the Lakes Region"
MANGOES = "Support to pest-free areas for smallholder mango exporters"
BIOCONTROL = "Guidance on the release of biological control agents"
LOCUSTS = "Remote sensing of locust breeding areas"
INSPECTORS = "Training of phytosanitary inspectors in the Andean-Amazon region"
CITIZENS = "Citizen reporting of plant pests by women farmers' groups"
TOBACCO = "Leaf inspection training sponsored by a tobacco company"
CUT_FLOWERS = "Certification pilot for cut flower exports"
EMERGENCY_FUND = "Regional phytosanitary emergency fund"
EMERGENCIES = "Plant health in food security emergencies"
PACIFIC = "Phytosanitary capacity evaluations in Pacific island countries"

Contact = DemoInteraction  # short, for the table below

# fmt: off
CONTACTS: tuple[DemoInteraction, ...] = (
    # 2019
    Contact(date(2019, 1, 22), "meeting", "Preparatory meeting on the diagnostics contribution",
        ("doac",), ("2012-2019.D",), participants=(LIAISON, IMPLEMENTATION),
        agreement=DIAGNOSTICS),
    Contact(date(2019, 3, 14), "correspondence", "Letter on joining the electronic certificate hub",
        ("dpic-vn",), ("2012-2019.C",), participants=(EPHYTO,)),
    Contact(date(2019, 4, 3), "event", "Side event at CPM-14 on pest risk modelling",
        ("icprm", "eastmoor"), ("2012-2019.B",), "public", (STANDARDS,), "Rome",
        "Presentation of climate suitability models for five regulated pests."),
    Contact(date(2019, 6, 18), "visit", "Visit to the plant quarantine laboratory", ("kinryo",),
        ("2012-2019.D",), participants=(IMPLEMENTATION,)),
    Contact(date(2019, 9, 10), "meeting", "Briefing on capacity evaluations in the Pacific",
        ("soippo", "pbd-pg"), ("2012-2019.D",), "public", (IMPLEMENTATION,), "Port Moresby",
        agreement=PACIFIC),
    Contact(date(2019, 10, 2), "call",
        "Call on the seed sector's engagement in the Commission's work", ("gstf",),
        ("2012-2019.C",), participants=(LIAISON,),
        follow_up="Point the federation to the public consultation on draft standards."),
    Contact(date(2019, 11, 20), "meeting", "Consultation on fall armyworm monitoring",
        ("unaro", "wsppc"), ("2012-2019.A",), "public", (SECRETARY, IMPLEMENTATION), "Rome"),
    # 2020
    Contact(date(2020, 2, 11), "meeting", "Meeting on the communication plan for plant health year",
        ("isw", "alder"), ("2020-2030.B",), "public", (COMMUNICATIONS,)),
    Contact(date(2020, 4, 23), "call", "Call on inspections under movement restrictions",
        ("phia-jm", "dpic-vn", "phsa-my"), ("2020-2030.C",), participants=(IMPLEMENTATION,),
        summary="How inspections and certification continue with staff working remotely."),
    Contact(date(2020, 6, 30), "correspondence",
        "Correspondence on electronic certificates during the pandemic", ("ifats",),
        ("2020-2030.C",), "public", (EPHYTO,)),
    Contact(date(2020, 9, 15), "event", "Webinar on plant health and food security",
        ("unaro", "ssn"), ("2020-2030.A",), "public", (SECRETARY,), "Online"),
    Contact(date(2020, 10, 27), "call", "Call on an awareness campaign for travellers", ("isw",),
        ("2020-2030.B",), participants=(COMMUNICATIONS,), agreement=TRAVELLERS),
    Contact(date(2020, 11, 18), "meeting", "Exploratory meeting on information exchange",
        ("cappo",), ("2020-2030.B",), participants=(LIAISON,), location="Online",
        agreement=CENTRAL_ASIA),
    # 2021
    Contact(date(2021, 1, 19), "call", "Call with the wood packaging alliance on outreach needs",
        ("wpma",), ("2020-2030.C",), participants=(LIAISON, STANDARDS), agreement=ISPM_15),
    Contact(date(2021, 3, 16), "event", "Side session at CPM-15 on sea container cleanliness",
        ("unpcb", "harbourline"), ("2020-2030.B",), "public", (STANDARDS,), "Online"),
    Contact(date(2021, 5, 25), "meeting", "Meeting on seed sector guidance", ("gstf", "ssn"),
        ("2020-2030.C",), participants=(LIAISON,)),
    Contact(date(2021, 7, 7), "visit", "Visit to the regional commission's secretariat",
        ("wsppc", "onpv-bf"), ("2020-2030.A",), "public", (SECRETARY,), "Ouagadougou"),
    Contact(date(2021, 8, 24), "correspondence", "Reply to an offer of workshop sponsorship",
        ("ifpec",), ("2020-2030.C",), participants=(LIAISON,),
        summary="Thanked the council; explained the review any sponsorship needs."),
    Contact(date(2021, 9, 28), "meeting", "Progress review of diagnostics training",
        ("doac", "itphr"), ("2020-2030.A",), participants=(IMPLEMENTATION,),
        agreement=DIAGNOSTICS),
    Contact(date(2021, 10, 20), "call", "Call on citizen science for pest reporting", ("wipha",),
        ("2020-2030.B",), participants=(COMMUNICATIONS,)),
    Contact(date(2021, 12, 2), "meeting", "Meeting with customs trainers on border inspections",
        ("rcta", "lrec"), ("2020-2030.C",), "public", (IMPLEMENTATION,), "Mombasa"),
    # 2022
    Contact(date(2022, 1, 26), "call", "Call on funding for fruit fly surveillance",
        ("greenfields",), ("2020-2030.A",), participants=(LIAISON,), agreement=FRUIT_FLIES),
    Contact(date(2022, 3, 9), "meeting",
        "Meeting on tomato leafminer surveillance in island states",
        ("soippo", "icprm", "pbd-pg"), ("2020-2030.A", "2020-2030.B"), "public",
        (IMPLEMENTATION,), "Online", agreement=LEAFMINER),
    Contact(date(2022, 4, 6), "event", "Side event at CPM-16 on diagnostics for all",
        ("itphr", "doac", "kinryo"), ("2020-2030.A",), "public", (IMPLEMENTATION,), "Online"),
    Contact(date(2022, 5, 17), "meeting", "Meeting on an electronic certificate pilot at terminals",
        ("harbourline", "eastbay-port"), ("2020-2030.C",), participants=(EPHYTO,),
        agreement=EPHYTO_PILOT),
    Contact(date(2022, 6, 28), "correspondence", "Letter on the regional fruit fly programme",
        ("wsppc", "onpv-bf", "greenfields"), ("2020-2030.A",), participants=(LIAISON,),
        agreement=FRUIT_FLIES),
    Contact(date(2022, 8, 16), "visit", "Field visit to fruit fly trapping sites", ("onpv-bf",),
        ("2020-2030.A",), "public", (IMPLEMENTATION,), "Bobo-Dioulasso", agreement=FRUIT_FLIES),
    Contact(date(2022, 9, 21), "call", "Call on guidance for the movement of seed", ("gstf",),
        ("2020-2030.C",), participants=(LIAISON,), agreement=SEED_GUIDANCE),
    Contact(date(2022, 11, 8), "meeting", "Meeting on volunteer reporting of forest pests",
        ("fif", "soippo"), ("2020-2030.B",), "public", (COMMUNICATIONS,)),
    Contact(date(2022, 12, 13), "call", "Call on a pest identification app", ("verdant",),
        ("2020-2030.A",), participants=(LIAISON,)),
    # 2023
    Contact(date(2023, 2, 7), "meeting", "Presentation of a co-branding proposal", ("verdant",),
        ("2020-2030.A",), participants=(LIAISON, COMMUNICATIONS), agreement=APP),
    Contact(date(2023, 3, 29), "event", "Side event at CPM-17 on fruit fly surveillance",
        ("wsppc", "greenfields", "onpv-bf"), ("2020-2030.A",), "public", (SECRETARY,), "Rome",
        agreement=FRUIT_FLIES),
    Contact(date(2023, 5, 9), "meeting", "Start of the tomato leafminer surveillance",
        ("soippo", "icprm", "pbd-pg"), ("2020-2030.A",), "public", (IMPLEMENTATION,), "Online",
        agreement=LEAFMINER),
    Contact(date(2023, 6, 20), "visit", "Visit to the container terminal of the certificate pilot",
        ("harbourline", "eastbay-port"), ("2020-2030.C",), "public", (EPHYTO,), "Eastbay",
        agreement=EPHYTO_PILOT),
    Contact(date(2023, 7, 18), "correspondence", "Correspondence on workshop sponsorship",
        ("ifpec",), ("2020-2030.C",), participants=(LIAISON,), agreement=SPONSORSHIP),
    Contact(date(2023, 9, 5), "call", "Call on cut flower export certification",
        ("eacfga", "pqpd-gh"), ("2020-2030.C",), participants=(IMPLEMENTATION,)),
    Contact(date(2023, 10, 24), "meeting", "Meeting on plant health in food security emergencies",
        ("unaro", "unaro-lac"), ("2020-2030.A",), "public", (SECRETARY,), "Panama City",
        agreement=EMERGENCIES),
    Contact(date(2023, 11, 30), "correspondence", "Correspondence on the group's dissolution",
        ("fif",), ("2020-2030.B",), participants=(COMMUNICATIONS,),
        follow_up="Archive the group in the register once its last records are in."),
    Contact(date(2023, 12, 12), "meeting",
        "Meeting on a tobacco company's offer of training support",
        ("redstone",), ("2020-2030.C",), participants=(LIAISON,), agreement=TOBACCO,
        summary="The Secretariat explained that it does not partner with the tobacco industry."),
    # 2024
    Contact(date(2024, 1, 30), "call", "Call on allegations of misuse of the ISPM 15 mark",
        ("wpma",), ("2020-2030.C",), participants=(LIAISON, STANDARDS), agreement=ISPM_15),
    Contact(date(2024, 3, 12), "meeting", "Meeting on a seed health testing network",
        ("ssn", "kinryo"), ("2020-2030.A",), "public", (IMPLEMENTATION,), agreement=SEED_TESTING),
    Contact(date(2024, 5, 8), "event", "Side event at CPM-18 on emergency preparedness",
        ("unaro", "greenfields", "unaro-lac"), ("2020-2030.A",), "public", (SECRETARY,), "Rome"),
    Contact(date(2024, 6, 25), "visit", "Visit to the regional customs training academy", ("rcta",),
        ("2020-2030.C",), "public", (IMPLEMENTATION,), "Mombasa"),
    Contact(date(2024, 8, 14), "correspondence", "Correspondence on a regional emergency fund",
        ("greenfields", "unaro-lac"), ("2020-2030.A",), participants=(LIAISON,),
        agreement=EMERGENCY_FUND),
    Contact(date(2024, 9, 17), "meeting", "Meeting on guidance for clean sea containers",
        ("unpcb", "ifats"), ("2020-2030.B", "2020-2030.C"), "public", (STANDARDS,),
        agreement=CONTAINERS),
    Contact(date(2024, 10, 29), "call", "Call on sharing pest interception data", ("ifats",),
        ("2020-2030.C",), participants=(EPHYTO,), agreement=INTERCEPTIONS),
    Contact(date(2024, 11, 19), "meeting", "Meeting with women farmers' groups on pest reporting",
        ("wipha", "ansv-mz"), ("2020-2030.A", "2020-2030.B"), "public", (COMMUNICATIONS,),
        "Maputo"),
    Contact(date(2024, 12, 10), "call", "Call on locust monitoring by satellite",
        ("agrisens", "wsppc"), ("2020-2030.A",), participants=(IMPLEMENTATION,)),
    # 2025
    Contact(date(2025, 1, 21), "meeting", "Meeting on guidance for biological control agents",
        ("taic", "eastmoor"), ("2020-2030.B",), participants=(STANDARDS,), agreement=BIOCONTROL),
    Contact(date(2025, 2, 25), "correspondence", "Letter on the pause of the certificate pilot",
        ("harbourline",), ("2020-2030.C",), participants=(EPHYTO,), agreement=EPHYTO_PILOT),
    Contact(date(2025, 3, 18), "event", "Side event at CPM-19 on seed health",
        ("ssn", "kinryo", "gstf"), ("2020-2030.A",), "public", (IMPLEMENTATION,), "Rome"),
    Contact(date(2025, 4, 8), "correspondence",
        "Letter on cooperation in plant quarantine training",
        ("phia-jm", "phsa-my"), ("2020-2030.C",), participants=(IMPLEMENTATION,)),
    Contact(date(2025, 5, 6), "visit", "Visit to the tropical plant health research institute",
        ("itphr",), ("2020-2030.A", "2020-2030.B"), "public", (IMPLEMENTATION,), "San José"),
    Contact(date(2025, 6, 24), "call", "Call on the cut flower certification pilot", ("eacfga",),
        ("2020-2030.C",), participants=(LIAISON,), agreement=CUT_FLOWERS),
    Contact(date(2025, 7, 15), "meeting", "Meeting on resuming the certificate pilot",
        ("harbourline", "eastbay-port"), ("2020-2030.C",), participants=(EPHYTO,),
        agreement=EPHYTO_PILOT),
    Contact(date(2025, 9, 9), "meeting", "Meeting on pest-free areas for mango exports",
        ("ifpec", "ansv-mz"), ("2020-2030.A", "2020-2030.C"), participants=(LIAISON,),
        agreement=MANGOES),
    Contact(date(2025, 10, 7), "event", "Regional workshop on phytosanitary inspection",
        ("caasv", "senacof-py"), ("2020-2030.C",), "public", (IMPLEMENTATION,), "Asunción",
        agreement=INSPECTORS),
    Contact(date(2025, 11, 25), "call", "Call on e-learning for the seed trade", ("gstf", "ssn"),
        ("2020-2030.C",), participants=(LIAISON,), agreement=E_LEARNING),
    Contact(date(2025, 12, 9), "correspondence",
        "Final report of the tomato leafminer surveillance",
        ("soippo", "icprm"), ("2020-2030.A", "2020-2030.B"), "public", (IMPLEMENTATION,),
        agreement=LEAFMINER),
    # 2026
    Contact(date(2026, 1, 20), "meeting", "Meeting on electronic certification in the Lakes Region",
        ("lrec",), ("2020-2030.C",), "public", (EPHYTO,), agreement=LAKES),
    Contact(date(2026, 2, 17), "call", "Call on citizen reporting by women farmers' groups",
        ("wipha",), ("2020-2030.B",), participants=(COMMUNICATIONS,), agreement=CITIZENS),
    Contact(date(2026, 3, 10), "meeting", "Consultation on national pest surveillance systems",
        ("pqpd-gh", "phsa-my", "dpic-vn"), ("2020-2030.A",), "public", (IMPLEMENTATION,),
        "Online"),
    Contact(date(2026, 4, 15), "event", "Side event at CPM-20 on safe trade in seeds",
        ("gstf", "ssn", "ifats"), ("2020-2030.C",), "public", (STANDARDS,), "Rome"),
    Contact(date(2026, 5, 19), "visit", "Visit to a locust monitoring ground station",
        ("agrisens",), ("2020-2030.A",), participants=(IMPLEMENTATION,), location="Niamey",
        agreement=LOCUSTS),
    Contact(date(2026, 6, 23), "meeting", "Meeting on inspector training needs", ("caasv",),
        ("2020-2030.C",), participants=(IMPLEMENTATION,), agreement=INSPECTORS),
    Contact(date(2026, 8, 11), "correspondence", "Mid-term report of the fruit fly programme",
        ("wsppc", "greenfields"), ("2020-2030.A",), "public", (LIAISON,), agreement=FRUIT_FLIES),
    Contact(date(2026, 9, 15), "meeting", "Meeting on standards for interception data",
        ("ifats", "unpcb"), ("2020-2030.C",), "public", (EPHYTO, STANDARDS)),
    Contact(date(2026, 10, 27), "call",
        "Call on the CPM's return of the biological control guidance",
        ("taic",), ("2020-2030.B",), participants=(STANDARDS,), agreement=BIOCONTROL),
    Contact(date(2026, 11, 17), "other", "Exchange at the yearly donors' roundtable",
        ("doac", "greenfields", "alder"), ("2020-2030.A",), "public", (SECRETARY, LIAISON)),
)
# fmt: on

INTERACTIONS: tuple[DemoInteraction, ...] = RECURRING + CONTACTS
