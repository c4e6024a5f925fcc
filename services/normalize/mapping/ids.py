"""The raw-identifier scoping convention, and the pseudonyms made from it.

A raw identifier is scoped before it is pseudonymised, so that equal references on the two platforms
(or of two kinds) never share a pseudonym. Other modules (resolution, the normalize app) rely on exactly
these strings; change them only with a key rotation, since every pseudonym changes with them.

| identifier | scoped raw value | IdKind |
| --- | --- | --- |
| platform site | ``f"{platform}:{siteRef}"`` (amfori ``siteAmforiId``) | PLATFORM_SITE |
| supplier company | ``f"{platform}:{companyRef}"`` (amfori ``legalEntityAmforiId``) | COMPANY |
| member | ``f"{platform}:{ref}"`` (Sedex ``companyRef``, amfori ``amforiId``) | MEMBER |
| member by LEI | ``f"lei:{LEI}"`` (one LEI is one member on both platforms) | MEMBER |
| audit | ``f"{platform}:{auditRef or monitoringId}"`` | AUDIT |
| finding | ``f"{platform}:{auditRef}/{findingRef}"`` (amfori ``monitoringId``/``findingId``) | FINDING |
| training | ``f"{platform}:{trainingRef or completionId}"`` | TRAINING |
| address | ``address_key(name, street, city, alpha2)`` | ADDRESS |
"""

from __future__ import annotations


def raw_site(platform: str, site_ref: str) -> str:
    return f"{platform}:{site_ref}"


def raw_company(platform: str, company_ref: str) -> str:
    return f"{platform}:{company_ref}"


def raw_member(platform: str, member_ref: str) -> str:
    return f"{platform}:{member_ref}"


def raw_lei(lei: str) -> str:
    return f"lei:{lei}"


def raw_audit(platform: str, audit_ref: str) -> str:
    return f"{platform}:{audit_ref}"


def raw_finding(platform: str, audit_ref: str, finding_ref: str) -> str:
    return f"{platform}:{audit_ref}/{finding_ref}"


def raw_training(platform: str, training_ref: str) -> str:
    return f"{platform}:{training_ref}"
