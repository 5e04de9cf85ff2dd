"""The ServiceAccounts controller (pkg/controller/serviceaccount)."""

from minicontroller.serviceaccount.serviceaccounts_controller import ServiceAccountsController

__all__ = ["ServiceAccountsController"]
