python3 tarheaders.py two.tar
