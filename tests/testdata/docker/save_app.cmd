docker save -o app.tar example/app:v1 && tar -tvf app.tar
