mkdir -p src/p/q dd
printf 'one\n' > src/p/q/one
printf 'two\n' > src/two
chmod 600 src/two
ln -s q/one src/p/sl
ln src/two src/two-hard
# Reproducible archives: fixed times, order and owners; gzip without name and time.
(cd src && tar --sort=name --mtime=@946684800 --owner=1000 --group=1000 --numeric-owner \
   --format=gnu -cf ../a.tar p two two-hard)
for c in gzip bzip2 xz; do cp a.tar a-$c.tar; done
gzip -n a-gzip.tar
bzip2 a-bzip2.tar
xz a-xz.tar
cp a-gzip.tar.gz dd/
printf 'plain text\n' > plain.txt && gzip -n plain.txt
printf 'this is not really a tar archive\n' > fake.tar
: > empty.tar
rm -rf src
