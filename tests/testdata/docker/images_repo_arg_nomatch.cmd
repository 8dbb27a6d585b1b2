docker images nosuch
