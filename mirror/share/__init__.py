"""What travels beyond the web page: feeds, single-file downloads, EPUB and static exports."""
