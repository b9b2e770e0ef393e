"""The contacts step: a contacts file read as text, header first, rows streamed.

``reader`` opens the file after ``filekind`` says what it really is; ``text`` reads delimited
text with ``codepages`` judging the encoding; ``workbook`` reads a sheet through calamine, with
``xlsx_cells`` and ``ods_cells`` for the number formats that ``cellformat`` renders as the sheet
shows them. The rest of the tool uses only the names below.
"""

from wooxy_bulk.contacts.reader import Contacts, Row, open_contacts
from wooxy_bulk.contacts.text import check_codec

__all__ = ["Contacts", "Row", "check_codec", "open_contacts"]
