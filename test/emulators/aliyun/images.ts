// The public images DescribeImages lists (any of them boots the configured lab image).
export interface Image {
  ImageId: string;
  ImageName: string;
  ImageFamily: string;
  OSName: string;
  OSNameEn: string;
  OSType: string;
  Platform: string;
  Architecture: string;
  Size: number;
  Status: string;
  ImageOwnerAlias: string;
  IsPublic: boolean;
  CreationTime: string;
  Description: string;
  Progress: string;
  Usage: string;
}

function image(id: string, family: string, os: string, platform: string, created: string): Image {
  return {
    ImageId: id,
    ImageName: id,
    ImageFamily: family,
    OSName: os,
    OSNameEn: os,
    OSType: 'linux',
    Platform: platform,
    Architecture: 'x86_64',
    Size: 20,
    Status: 'Available',
    ImageOwnerAlias: 'system',
    IsPublic: true,
    CreationTime: created,
    Description: '',
    Progress: '100%',
    Usage: 'instance',
  };
}

export const IMAGES: Image[] = [
  image(
    'debian_12_6_x64_20G_alibase_20240823.vhd',
    'acs:debian_12_x64',
    'Debian  12.6 64 bit',
    'Debian',
    '2024-08-23T07:52:31Z',
  ),
  image(
    'debian_11_11_x64_20G_alibase_20240823.vhd',
    'acs:debian_11_x64',
    'Debian  11.11 64 bit',
    'Debian',
    '2024-08-23T07:50:11Z',
  ),
  image(
    'ubuntu_22_04_x64_20G_alibase_20240926.vhd',
    'acs:ubuntu_22_04_x64',
    'Ubuntu  22.04 64 bit',
    'Ubuntu',
    '2024-09-26T06:12:40Z',
  ),
  image(
    'ubuntu_24_04_x64_20G_alibase_20240923.vhd',
    'acs:ubuntu_24_04_x64',
    'Ubuntu  24.04 64 bit',
    'Ubuntu',
    '2024-09-23T09:01:27Z',
  ),
  image(
    'aliyun_3_x64_20G_alibase_20240819.vhd',
    'acs:alibaba_cloud_linux_3_2104_lts_x64',
    'Alibaba Cloud Linux  3.2104 LTS 64 bit',
    'Aliyun',
    '2024-08-19T03:20:05Z',
  ),
];
