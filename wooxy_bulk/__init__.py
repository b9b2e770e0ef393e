"""wooxy-bulk: bulk SMS campaigns from spreadsheets through the Wooxy Send SMS API."""

__version__ = "0.1.0"
