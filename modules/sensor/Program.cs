using EdgeMl.Sensor;
using Microsoft.Extensions.Hosting;

var builder = Host.CreateApplicationBuilder(args);
builder.Services.AddSensor(builder.Configuration);
await builder.Build().RunAsync();
