"""The tags of an HTML fragment as a browser's tokenizer would see them: for tests of rendered messages."""
from html.parser import HTMLParser


class Tags(HTMLParser):
    """`tags`: (name, attributes) of every start tag; `end_tags`: the names of the end tags."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.tags = []
        self.end_tags = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        self.end_tags.append(tag)

    def named(self, name):
        return [attrs for tag, attrs in self.tags if tag == name]
